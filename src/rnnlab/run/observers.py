"""What a single run shows and writes around its training, each an observer of the
epoch loop (run/tbptt.py's train_epochs), called in the order run/training.py lists
them. Each takes the run's settings (settings.Settings)."""
from __future__ import annotations

import os
import signal
import time

import numpy as np

from rnnlab.config import count
from rnnlab.errors import TrainingDiverged, WriteError
from rnnlab.run import live, runfiles, writes
from rnnlab.run.records import PANEL_ROWS, Snapshot
from rnnlab.run.tbptt import Observer, window_accuracies


class DivergenceGuard(Observer):
    """Stops training when a loss is no longer a finite number, before anything shows
    or saves it: the last good checkpoint is kept."""

    def __init__(self, checkpoints):
        self.checkpoints = checkpoints

    def chunk_done(self, progress, epoch, start, stop, shown):
        losses = progress.epoch_losses[start:stop]
        bad = np.flatnonzero(~np.isfinite(losses) & (epoch.scored[start:stop] > 0))
        if len(bad):
            window = start + int(bad[0])
            raise TrainingDiverged(
                f"loss became {losses[bad[0]]} at epoch {epoch.number}, window {window}; "
                f"{self.checkpoints.describe_last()}; try a smaller --learning-rate")


class Console(Observer):
    """The tutorial's console lines (`New data, epoch E`, `Step K Loss L` every
    log_every windows), an epoch summary, and on a terminal a progress bar beneath;
    with --quiet, the epoch summaries alone.

    Where the lines cannot be written (a full device, a pipe whose reader went away),
    training stops as if asked to, with a checkpoint: `request` gets the signal
    (SIGPIPE) or the error to stop with."""

    def __init__(self, config, out, request=None):
        self.config, self.bar, self.request = config, None, request
        self.out = _Lines(out, self)
        self.note = config.task.baseline_note(config)

    def failed(self, err) -> None:
        if self.request is None:
            raise err
        self.request["signum"] = signal.SIGPIPE
        if not getattr(err, "closed", False):  # a full device: stop with its error
            self.request.setdefault("error", err)

    def epoch_started(self, progress, epoch):
        if self.config.quiet:
            return
        first = progress.window
        fresh = "New data" if self.config.task.synthetic else "Training part"
        self.out.write(f"{fresh}, epoch {epoch.number}\n" if first == 0 else
                       f"Resuming epoch {epoch.number} at window {first}\n")
        self.bar = live.progress_bar(f"epoch {epoch.number}", self.config.num_windows, first)

    def chunk_done(self, progress, epoch, start, stop, shown):
        if self.config.quiet:
            return
        every = self.config.log_every
        logged = range(start + (-start) % every, stop, every)
        if logged:
            self.bar.clear()  # the tutorial's lines go above the progress bar, not into it
        for k in logged:  # float32, printed as the tutorial prints it
            self.out.write(f"Step {k} Loss {str(progress.epoch_losses[k])}\n")
        self.out.flush()
        self.bar.update(stop - start)

    def epoch_done(self, progress, epoch):
        self.close()
        losses, accuracies = progress.losses[-1], progress.accuracies[-1]
        self.out.write(f"Epoch {epoch.number} done: mean loss {np.nanmean(losses):.4f}, "
                       f"accuracy {np.nanmean(accuracies):.4f}{self.validation(progress)}, "
                       f"{progress.seconds[-1]:.3f} s{self.note}\n")
        if stops_early(self.config, progress):
            best = progress.epoch - 1 - progress.stale
            which = "validation" if self.validation(progress) else "training"
            self.out.write(f"Stopping early: the {which} loss has not improved for "
                           f"{count(progress.stale, 'epoch')} (--patience "
                           f"{self.config.patience}); the "
                           f"best, {progress.best_loss:.4f}, was epoch {best}'s\n")
        self.out.flush()

    def validation(self, progress) -> str:
        """The validation loss in the field's units: bits per character, perplexity."""
        if not (progress.val_losses and np.isfinite(progress.val_losses[-1])):
            return ""
        loss = progress.val_losses[-1]
        if self.config.task.word_level:
            return f", validation loss {loss:.4f} (perplexity {np.exp(loss):.1f})"
        return f", validation loss {loss:.4f} ({loss / np.log(2):.4f} bits per character)"

    def interrupted(self, progress, epoch):
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Lines:
    """The console's stream; after a write fails, the rest go nowhere (Console.failed)."""

    def __init__(self, stream, console):
        self.stream, self.console, self.broken = stream, console, False

    def write(self, text: str) -> None:
        self._do(lambda: self.stream.write(text))

    def flush(self) -> None:
        self._do(self.stream.flush)

    def _do(self, action) -> None:
        if self.broken:
            return
        try:
            action()
        except OSError as err:  # process.OutputError is a WriteError; a plain stream's OSError
            self.broken = True
            self.console.failed(err if isinstance(err, WriteError) else WriteError(
                f"cannot write the console: {err.strerror or err}"))
        except WriteError as err:
            self.broken = True
            self.console.failed(err)


class Snapshots(Observer):
    """Keeps logged windows (inputs, targets, outputs of the rows the figure shows) for
    the figure, and refreshes the live figure when one is shown. At most `keep` of them:
    past that, every other older one goes, so a long run's animation still spans it all
    in a bounded memory (and checkpoint)."""

    def __init__(self, config, live=None, keep: int = 240):
        self.config, self.live, self.truth, self.keep = config, live, None, keep

    def epoch_started(self, progress, epoch):
        self.truth = self.config.task.truth(epoch.x, self.config)

    def chunk_done(self, progress, epoch, start, stop, shown):
        if shown is None:
            return
        c, n = self.config, self.config.num_windows
        k = (stop - 1) // c.log_every * c.log_every
        first_step = k * c.step_size
        rows = slice(0, PANEL_ROWS)
        truth = (None if self.truth is None else
                 self.truth[rows, first_step:first_step + c.truncation].astype(np.float32))
        progress.snapshots.append(Snapshot(
            epoch.number, k, x=epoch.xw[k][rows], y=epoch.yw[k][rows],
            probs=shown.numpy()[:, rows], num_losses=len(progress.losses) * n + k + 1,
            truth=truth))
        if len(progress.snapshots) > self.keep:  # the newest stays, every other older goes
            progress.snapshots = progress.snapshots[::-2][::-1]
        if self.live is not None:
            done = np.concatenate(progress.losses + [progress.epoch_losses[:stop]])
            self.live.refresh(done, progress.snapshots[-1])


class TextSample(Observer):
    """What a text model writes by the end of an epoch, shown under the figure: drawn
    when a figure will show it (live, animated, or the last epoch's)."""

    def __init__(self, config, model, live=None):
        self.config, self.model, self.live = config, model, live

    def epoch_done(self, progress, epoch):
        c = self.config
        shown = self.live is not None or c.gif or progress.epoch == c.epochs
        if progress.snapshots and shown:
            from rnnlab.data.corpus import TextWriter, prime_ids
            from rnnlab.nn.generate import generate

            words, rng = c.task.word_level, np.random.RandomState([c.seed, epoch.number])
            drawn = generate(self.model, prime_ids("", c, words, rng), 16 if words else 80,
                             0.8, rng)
            progress.snapshots[-1].sample = "".join(map(TextWriter(c, words), drawn))


class Metrics(Observer):
    """metrics.csv, one row per window: an epoch's rows added at its end (and a stopped
    epoch's when interrupted), before the checkpoint, so the file is never behind the
    newest checkpoint."""

    def __init__(self, run_dir: str, progress):
        self.file = runfiles.MetricsFile(os.path.join(run_dir, "metrics.csv"), [
            runfiles.format_epoch_rows(e, losses, accuracies)
            for e, (losses, accuracies) in enumerate(zip(progress.losses, progress.accuracies))])

    def epoch_done(self, progress, epoch):
        self.file.add_epoch(epoch.number, progress.losses[-1], progress.accuracies[-1])

    def interrupted(self, progress, epoch):
        w = progress.window
        accuracies = window_accuracies(progress.epoch_hits[:w], epoch.scored[:w])
        self.file.append(runfiles.format_epoch_rows(epoch.number, progress.epoch_losses[:w],
                                                    accuracies))


class Board(Observer):
    """TensorBoard's scalars, per window and per epoch (validation and learning rate too)."""

    def __init__(self, board):
        self.board = board

    def epoch_done(self, progress, epoch):
        extra = {"epoch__learning_rate": float(progress.learning_rates[-1])}
        if progress.val_losses and np.isfinite(progress.val_losses[-1]):
            extra.update(epoch__val_loss=float(progress.val_losses[-1]),
                         epoch__val_accuracy=float(progress.val_accuracies[-1]))
        self.board.write_epoch(epoch.number, progress.losses[-1], progress.accuracies[-1], extra)


class Checkpoints(Observer):
    """Epoch ends are checkpointed at most every `checkpoint_every` seconds, the last
    epoch and a stop always; a stop mid-epoch checkpoints where training stood."""

    def __init__(self, config, checkpointer, request):
        self.config, self.checkpointer, self.request = config, checkpointer, request

    def epoch_done(self, progress, epoch):
        stopping = self.request["signum"] is not None or stops_early(self.config, progress)
        if (stopping or progress.epoch == self.config.epochs or
                time.monotonic() - self.checkpointer.last_save >= self.config.checkpoint_every):
            self.checkpointer.save(progress)

    def interrupted(self, progress, epoch):
        self.checkpointer.save(progress)


class Validation(Observer):
    """The validation part's loss and accuracy after each epoch, the state carried
    across its windows (as word_language_model evaluates), added to the progress: NaN
    for a run without one."""

    def __init__(self, config, model, corpus):
        self.config, self.model = config, model
        has_part = corpus is not None and len(corpus["val"])
        self.stretch = config.task.stretch(config, "val", corpus) if has_part else None

    def epoch_done(self, progress, epoch):
        if self.stretch is None:
            progress.val_losses.append(float("nan"))
            progress.val_accuracies.append(float("nan"))
            return
        from rnnlab.nn.along import along

        scores = along(self.model, self.stretch.x, self.stretch.y, self.config.truncation)
        progress.val_losses.append(float(scores["loss"].mean()))
        progress.val_accuracies.append(float(scores["right"].mean()))


def stops_early(config, progress) -> bool:
    """Whether --patience ends the run here: that many epochs without an improvement."""
    return bool(config.patience) and progress.stale >= config.patience


def monitored_loss(progress) -> np.ndarray:
    """What an epoch is judged by: its validation loss, or without a validation part its
    mean training loss (per member, for a population)."""
    if progress.val_losses and np.isfinite(progress.val_losses[-1]).all():
        return np.asarray(progress.val_losses[-1])
    return np.nanmean(progress.losses[-1], axis=0)


class Improvement(Observer):
    """After each epoch: a validation loss lower than any before is kept as the best
    checkpoint (beside the newest), and the epochs since one was are counted (--patience);
    a loss that did not improve multiplies the learning rate by --lr-decay (per member,
    for a population)."""

    def __init__(self, config, checkpoints=None):
        self.config, self.checkpoints = config, checkpoints

    def epoch_done(self, progress, epoch):
        loss = monitored_loss(progress)
        improved = loss < progress.best_loss
        progress.stale = 0 if np.all(improved) else progress.stale + 1
        progress.best_loss = np.where(improved, loss, progress.best_loss)
        if np.ndim(progress.best_loss) == 0:
            progress.best_loss = float(progress.best_loss)
        if self.config.lr_decay:
            progress.rate_scale = np.where(improved, progress.rate_scale,
                                           progress.rate_scale * self.config.lr_decay)
            if np.ndim(progress.rate_scale) == 0:
                progress.rate_scale = float(progress.rate_scale)
        validated = progress.val_losses and np.isfinite(progress.val_losses[-1])
        if self.checkpoints is not None and validated and improved:
            self.checkpoints.save(progress, best=True)


class EpochsFile(Observer):
    """epochs.csv: one row per epoch, the epoch's mean training loss and accuracy, its
    validation loss and accuracy (empty without a validation part), its learning rate and
    seconds; written whole when the run starts or resumes, then appended."""

    HEADER = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds\n"

    def __init__(self, run_dir: str, progress, default_rate: float):
        self.path = os.path.join(run_dir, "epochs.csv")
        self.default_rate = default_rate  # what a checkpoint from before rates were kept trained at
        rows = [self.row(progress, e) for e in range(len(progress.losses))]
        writes.write_atomic(self.path, self.HEADER + "".join(rows))

    def row(self, progress, e: int) -> str:
        def number(values, fmt="{:.6g}"):
            value = values[e] if e < len(values) else float("nan")
            return "" if not np.isfinite(value) else fmt.format(float(value))

        rate = progress.learning_rates[e] if e < len(progress.learning_rates) else self.default_rate
        return (f"{e},{np.nanmean(progress.losses[e]):.6g},{np.nanmean(progress.accuracies[e]):.6g},"
                f"{number(progress.val_losses)},{number(progress.val_accuracies)},"
                f"{float(rate):.6g},{progress.seconds[e]:.3f}\n")

    def epoch_done(self, progress, epoch):
        writes.append(self.path, self.row(progress, len(progress.losses) - 1))
