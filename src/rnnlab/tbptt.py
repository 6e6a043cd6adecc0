"""Truncated backpropagation through time, the story of a run from top to bottom."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from rnnlab import runfiles, viz
from rnnlab._tf import tf
from rnnlab.board import TensorBoardLog
from rnnlab.checkpoint import Checkpointer, Progress, restore_latest
from rnnlab.config import ConfigError, TrainConfig
from rnnlab.model import correct_predictions, model_for
from rnnlab.optim import Adagrad
from rnnlab.tasks import (baseline_note, dependency_probability, load_corpus, make_series,
                          to_windows)


def compile_window_runner(model, optimizer: Adagrad, config: TrainConfig):
    """One XLA-compiled program that trains windows [start, stop) of an epoch.

    This is the TBPTT loop. Window i covers steps [i*k1, i*k1 + k2) of every row (k2 =
    truncation, k1 = stride, by default k2: the tutorial's non-overlapping windows). It
    is unrolled k2 steps from the carried state and gets one Adagrad update for the loss
    of its last k1 steps (the ones no earlier window scored); the state after its first
    k1 steps is carried into window i + 1. No gradient flows across a window's start,
    because the state enters each window as a plain input.

    x, y: [num_windows, batch, truncation] (the whole epoch, so the shapes never change
    and the program is traced once per run, whatever chunk is asked for).
    Returns per-window losses and correct-prediction counts ([num_windows], only [start,
    stop) filled), the carried state, and the outputs (softmax, or the adding task's
    numbers) of every window whose index is a multiple of `log_every` ([num_logged, T,
    batch, C]) for the figure. A population (population.py) has its axis P after the
    window's: x, y [num_windows, P, batch, truncation], losses and counts [num_windows, P].
    """
    n, batch, T = config.num_windows, config.batch_size, config.truncation
    every, C = config.log_every, config.num_classes
    k1 = config.step_size
    num_logged = -(-n // every)
    P = list(model.population_shape)  # [] for one network, [P] for a population
    state_spec = tuple(tf.TensorSpec(s.shape, tf.float32) for s in model.zero_state(batch))
    # Class tasks: symbols in, class ids out. The adding task: (value, marker) pairs in,
    # a number out, NaN where a step has no target.
    x_spec = tf.TensorSpec([n] + P + [batch, T] + ([config.num_inputs] if config.regression else []),
                           tf.float32)
    y_spec = tf.TensorSpec([n] + P + [batch, T], tf.float32 if config.regression else tf.int32)

    def shown(logits):
        return logits if config.regression else tf.nn.softmax(logits)

    def train_window(i, state, losses, correct, snapshots, x, y):
        loss, logits, state, grads = model.loss_and_grads(x[i], y[i], state,
                                                          loss_from=T - k1, carry_at=k1)
        optimizer.apply(grads, model.params)
        targets = tf.experimental.numpy.moveaxis(y[i], -1, 0)
        right = correct_predictions(logits[T - k1:], targets[T - k1:], config.regression)
        hits = tf.reduce_sum(tf.cast(right, tf.int32), axis=[0, -1])  # over steps and rows
        losses = tf.tensor_scatter_nd_update(losses, [[i]], [loss])
        correct = tf.tensor_scatter_nd_update(correct, [[i]], [hits])
        snapshots = tf.cond(
            i % every == 0,
            lambda: tf.tensor_scatter_nd_update(snapshots, [[i // every]], [shown(logits)]),
            lambda: snapshots)
        return i + 1, state, losses, correct, snapshots

    @tf.function(jit_compile=True, reduce_retracing=False, input_signature=[
        x_spec, y_spec, state_spec,
        tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
    def run_windows(x, y, state, start, stop):
        # An explicit while_loop: autograph's `for i in tf.range` would pass XLA a
        # maximum trip count, which XLA makes a compile-time constant (a recompile per chunk).
        carry = (start, state, tf.zeros([n] + P), tf.zeros([n] + P, tf.int32),
                 tf.zeros([num_logged, T] + P + [batch, C]))
        _, state, losses, correct, snapshots = tf.while_loop(
            lambda i, *_: i < stop, lambda *c: train_window(*c, x, y), carry)
        return losses, correct, state, snapshots

    return run_windows


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was written where training stopped."""

    def __init__(self, signum: int, run_dir: str, epoch: int, window: int):
        self.signum = signum
        super().__init__(f"interrupted at epoch {epoch}, window {window}; checkpoint written; "
                         f"continue with: rnnlab train --resume {run_dir}")


class TrainingDiverged(Exception):
    """The loss stopped being a finite number; the last good checkpoint is kept."""


@dataclass
class History:
    """What a run measured: one loss and accuracy per window, wall time per epoch."""

    losses: list       # per epoch: float32 [num_windows]
    accuracies: list   # per epoch: float32 [num_windows]
    seconds: list      # per epoch: wall time

    @property
    def window_losses(self) -> np.ndarray:
        return np.concatenate(self.losses) if self.losses else np.zeros(0, np.float32)

    # Means over the windows that scored anything (adding task: those with an episode end).
    @property
    def epoch_loss(self) -> np.ndarray:
        return np.array([np.nanmean(l) for l in self.losses])

    @property
    def epoch_accuracy(self) -> np.ndarray:
        return np.array([np.nanmean(a) for a in self.accuracies])


@dataclass
class Run:
    config: TrainConfig
    model: object  # model.RNN (model.EchoRNN for the tutorial's cell)
    history: History
    out_dir: str
    live: object = None                            # the LiveFigure, when one was shown
    snapshots: list = field(default_factory=list)  # the figure's logged windows


def chunk_bounds(num_windows: int, log_every: int):
    """Windows [start, stop) per compiled call: [0, 1), [1, 101), [101, 201), ...

    Each chunk ends at a logged window, so the live figure and a stop request are
    served between calls; the calls are few (7 per tutorial epoch) and cost ~0.1 ms.
    """
    ends = list(range(1, num_windows, log_every)) + [num_windows]
    return list(zip([0] + ends[:-1], ends))


@contextmanager
def stop_requests():
    """Turn Ctrl-C and SIGTERM into a request, honoured between compiled calls; a
    second Ctrl-C stops at once. Outside the main thread, signals are left alone."""
    request = {"signum": None}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request["signum"] is not None:
            raise KeyboardInterrupt
        request["signum"] = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def new_progress(config: TrainConfig, rng: np.random.RandomState, model) -> Progress:
    n = config.num_windows
    zeros = [s.numpy() for s in model.zero_state(config.batch_size)]
    return Progress(epoch=0, window=0, rng_state=rng.get_state(), carried_state=zeros,
                    epoch_losses=np.zeros(n, np.float32), epoch_hits=np.zeros(n, np.int32))


def new_model(config: TrainConfig, rng: np.random.RandomState):
    """The model and its optimizer, initial weights drawn from `rng` (tutorial's order)."""
    model = model_for(config, rng)
    return model, Adagrad(config.learning_rate, model.params)


def train(config: TrainConfig = TrainConfig(), *, force: bool = False, stdout=None) -> Run:
    """Train as `config` says (by default the tutorial's experiment); write the run
    folder; return the Run.

    `config.seed` seeds numpy's RandomState, which draws W, W2, then each epoch's series
    in the tutorial's order, so a run can be compared with the tutorial program seeded
    with np.random.seed(seed).
    """
    config = config.resolved().validate()
    run_dir = runfiles.create_run_dir(config.out, force=force)
    runfiles.write_atomic(os.path.join(run_dir, "config.json"), config.to_json())
    rng = np.random.RandomState(config.seed)
    model, optimizer = new_model(config, rng)
    return _run(config, run_dir, model, optimizer, rng, new_progress(config, rng, model), stdout)


def resume(run_dir: str, *, epochs: int | None = None, plot: str | None = None,
           gif: str | None = None, checkpoint_every: float | None = None,
           stdout=None) -> Run:
    """Continue a run from its newest readable checkpoint, exactly where it stopped.

    Its settings come from its config.json; `epochs` may extend the run; `plot`, `gif`
    and `checkpoint_every` change only how it is shown and saved, never its numbers.
    """
    config = runfiles.read_config(run_dir)
    changes = {k: v for k, v in (("epochs", epochs), ("plot", plot), ("gif", gif),
                                 ("checkpoint_every", checkpoint_every)) if v is not None}
    config = config.replace(**changes, out=run_dir).validate()
    model, optimizer = new_model(config, np.random.RandomState(0))  # the checkpoint sets values
    progress = restore_latest(run_dir, model, optimizer)
    if progress.epoch >= config.epochs:
        raise ConfigError(f"run {run_dir!r} has finished its {progress.epoch} epochs; "
                          f"pass --epochs N with N > {progress.epoch} to extend it")
    if len(progress.epoch_losses) != config.num_windows:
        raise ConfigError(f"run {run_dir!r}: its checkpoint does not fit its config.json")
    if "epochs" in changes:
        runfiles.write_atomic(os.path.join(run_dir, "config.json"), config.to_json())
    rng = np.random.RandomState()
    rng.set_state(progress.rng_state)
    return _run(config, run_dir, model, optimizer, rng, progress, stdout)


def _run(config, run_dir, model, optimizer, rng, progress: Progress, stdout) -> Run:
    """The epochs from `progress` on: train, log, checkpoint, draw."""
    out = stdout or sys.stdout
    text_ids = load_corpus(config) if config.task == "text" else None
    run_windows = compile_window_runner(model, optimizer, config)
    metrics = runfiles.MetricsFile(os.path.join(run_dir, "metrics.csv"), [
        runfiles.format_epoch_rows(e, l, a)
        for e, (l, a) in enumerate(zip(progress.losses, progress.accuracies))])
    board = TensorBoardLog(os.path.join(run_dir, "tensorboard"))
    checkpointer = Checkpointer(run_dir, model, optimizer)
    if progress.epoch or progress.window:  # resumed: the checkpoint it came from
        checkpointer.last_position = (progress.epoch, progress.window)

    plot = viz.resolve_plot(config.plot)
    live = (viz.open_live_figure(config.truncation, config.batch_size, config.vocab, config.task)
            if plot == "live" else None)

    try:
        with stop_requests() as request:
            session = _Session(config, run_dir, model, run_windows, rng, out, live, metrics,
                               board, checkpointer, request, text_ids)
            while progress.epoch < config.epochs:
                _train_epoch(session, progress)
    finally:
        board.close()

    losses = np.concatenate(progress.losses)
    if live is not None and progress.snapshots:  # the figure's last state stays on screen
        live.refresh(losses[:progress.snapshots[-1].num_losses], progress.snapshots[-1], force=True)
    if progress.snapshots and plot in ("file", "live"):
        viz.save_png(os.path.join(run_dir, "figure.png"), losses, progress.snapshots[-1],
                     config.truncation, config.batch_size, config.vocab, config.task)
    if progress.snapshots and config.gif:
        viz.save_gif(config.gif, losses, progress.snapshots, config.truncation,
                     config.batch_size, config.vocab, config.task)
    history = History(progress.losses, progress.accuracies, progress.seconds)
    return Run(config, model, history, run_dir, live=live, snapshots=progress.snapshots)


def _progress_bar(epoch: int, total: int, first: int):
    return viz.progress_bar(f"epoch {epoch}", total, first)  # fits a terminal or a notebook


@dataclass
class _Session:
    """What the epochs of one train() or resume() call share."""

    config: TrainConfig
    run_dir: str
    model: object
    run_windows: object         # the compiled chunk program
    rng: np.random.RandomState  # draws the series (and drew the initial weights)
    out: object                 # where the tutorial's console lines go
    live: object                # viz.LiveFigure or None
    metrics: runfiles.MetricsFile
    board: TensorBoardLog
    checkpointer: Checkpointer
    request: dict               # {"signum": ...} once Ctrl-C or SIGTERM arrived
    text_ids: np.ndarray | None


def _train_epoch(s: _Session, progress: Progress) -> None:
    """Windows progress.window.. of epoch progress.epoch, then the epoch-end writes."""
    config, rng, out = s.config, s.rng, s.out
    n, every, epoch, first = config.num_windows, config.log_every, progress.epoch, progress.window
    started = time.perf_counter()
    rng.set_state(progress.rng_state)  # mid-epoch resume: draws this epoch's series again
    x, y = make_series(rng, config.task, config.layout, config.series_length,
                       config.echo_step, config.batch_size, s.text_ids)
    out.write(f"New data, epoch {epoch}\n" if first == 0 else
              f"Resuming epoch {epoch} at window {first}\n")
    xw, yw = (to_windows(a, config.truncation, config.step_size) for a in (x, y))
    x_epoch = tf.constant(xw, tf.float32)  # once per epoch
    y_epoch = tf.constant(yw, tf.float32 if config.regression else tf.int32)
    scored = scored_per_window(config, yw)
    truth = None
    if config.task == "dependency":  # tutorial layout: rows continue each other
        flat = x.reshape(1, -1) if config.layout == "tutorial" else x
        truth = dependency_probability(flat).reshape(x.shape)
    state = tuple(tf.constant(part) for part in progress.carried_state)
    bar = _progress_bar(epoch, n, first)
    for start, stop in chunk_bounds(n, every):
        if stop <= first:
            continue
        start = max(start, first)
        chunk_losses, chunk_hits, state, snaps = s.run_windows(x_epoch, y_epoch, state, start, stop)
        losses = chunk_losses.numpy()[start:stop]
        healthy = np.isfinite(losses)
        if not healthy.all():
            bad = start + int(np.argmin(healthy))
            bar.close()
            raise TrainingDiverged(
                f"loss became {losses[bad - start]} at epoch {epoch}, window {bad}; "
                f"{s.checkpointer.describe_last()}; try a smaller --learning-rate")
        losses[scored[start:stop] == 0] = np.nan  # no target in the window: no loss to show
        progress.epoch_losses[start:stop] = losses
        progress.epoch_hits[start:stop] = chunk_hits.numpy()[start:stop]
        progress.window, progress.carried_state = stop, [part.numpy() for part in state]
        snaps = snaps.numpy()
        logged = range(start + (-start) % every, stop, every)
        if logged:
            bar.clear()  # the tutorial's lines go above the progress bar, not into it
        for k in logged:
            out.write(f"Step {k} Loss {str(losses[k - start])}\n")  # float32, as the tutorial prints
            first_step = k * config.step_size
            progress.snapshots.append(viz.Snapshot(
                epoch, k, x=xw[k], y=yw[k],
                probs=snaps[k // every], num_losses=len(progress.losses) * n + k + 1,
                truth=None if truth is None else
                truth[:, first_step:first_step + config.truncation].astype(np.float32)))
        if s.live is not None and (stop - 1) % every == 0:
            done = np.concatenate(progress.losses + [progress.epoch_losses[:stop]])
            s.live.refresh(done, progress.snapshots[-1])
        out.flush()
        bar.update(stop - start)
        if s.request["signum"] is not None and stop < n:
            bar.close()
            _save_interrupted(s, progress, scored)
    bar.close()

    shown = s.live is not None or config.gif or epoch + 1 == config.epochs
    if config.task == "text" and progress.snapshots and shown:  # what the model writes by now
        from rnnlab.inference import write_text

        progress.snapshots[-1].sample = write_text(
            s.model, config.vocab, 80, 0.8, "", np.random.RandomState([config.seed, epoch]))
    losses, hits = progress.epoch_losses, progress.epoch_hits
    accuracies = window_accuracies(hits, scored)
    progress.losses.append(losses)
    progress.accuracies.append(accuracies)
    progress.seconds.append(time.perf_counter() - started)
    progress.epoch, progress.window, progress.rng_state = epoch + 1, 0, rng.get_state()
    progress.carried_state = [np.zeros_like(part) for part in progress.carried_state]  # zeros each epoch
    progress.epoch_losses, progress.epoch_hits = np.zeros(n, np.float32), np.zeros(n, np.int32)

    # metrics.csv before the checkpoint: the file is never behind the newest checkpoint.
    s.metrics.add_epoch(epoch, losses, accuracies)
    s.board.write_epoch(epoch, losses, accuracies)
    interrupted = s.request["signum"] is not None and progress.epoch < config.epochs
    if (interrupted or progress.epoch == config.epochs
            or time.monotonic() - s.checkpointer.last_save >= config.checkpoint_every):
        s.checkpointer.save(progress)
    out.write(f"Epoch {epoch} done: mean loss {np.nanmean(losses):.4f}, accuracy "
              f"{np.nanmean(accuracies):.4f}, {progress.seconds[-1]:.3f} s{baseline_note(config.task, config.echo_step)}\n")
    if interrupted:
        raise TrainingInterrupted(s.request["signum"], s.run_dir, progress.epoch, 0)


def scored_per_window(config: TrainConfig, yw: np.ndarray) -> np.ndarray:
    """How many targets each window scores: its last k1 steps of every row, or for the
    adding task only the episode ends among them (none in many windows).

    yw: [num_windows, (P,) batch, T] -> [num_windows (, P)]."""
    k1 = config.step_size
    if config.regression:
        return np.isfinite(yw[..., -k1:]).sum(axis=(-2, -1))
    return np.full(yw.shape[:-2], config.batch_size * k1)


def window_accuracies(hits: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Correct predictions per window -> the fraction of the window's scored targets
    (NaN for a window without any)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scored > 0, hits / np.maximum(scored, 1), np.nan).astype(np.float32)


def _save_interrupted(s: _Session, progress: Progress, scored: np.ndarray):
    """Stop mid-epoch: checkpoint the position reached, show its rows, and stop."""
    w = progress.window
    partial = runfiles.format_epoch_rows(progress.epoch, progress.epoch_losses[:w],
                                         window_accuracies(progress.epoch_hits[:w], scored[:w]))
    s.metrics.write(extra=partial)
    s.checkpointer.save(progress)
    raise TrainingInterrupted(s.request["signum"], s.run_dir, progress.epoch, w)
