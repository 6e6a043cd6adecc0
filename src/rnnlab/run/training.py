"""A run, from its settings to its folder: train() starts one, resume() continues one,
train_population() trains many networks of one shape together (a sweep's unit)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from rnnlab import settings as run_settings
from rnnlab._tf import Compiled
from rnnlab.config import TrainConfig, count
from rnnlab.data.corpus import load_corpus
from rnnlab.errors import ConfigError, WriteError
from rnnlab.run import figure, live as live_figures
from rnnlab.nn.model import init_params, model_for
from rnnlab.nn.optim import make_optimizer
from rnnlab.nn.population import PopulationRNN
from rnnlab.run import observers, runfiles, writes
from rnnlab.run.board import TensorBoardLog
from rnnlab.run.checkpoint import Checkpointer, restore_latest
from rnnlab.run.records import History, Progress
from rnnlab.run.tbptt import compile_window_runner, epoch_of, stop_requests, train_epochs
from rnnlab.settings import Settings


@dataclass
class Run:
    config: Settings                               # the run's settings (settings.Settings)
    model: object                                  # nn.model.RNN
    history: History
    out_dir: str
    live: object = None                            # the live figure, when one was shown
    snapshots: list = field(default_factory=list)  # the figure's logged windows (a few hundred
                                                   # at most, thinned evenly as a run goes on)


def new_model(settings: Settings, rng: np.random.RandomState):
    """The model and its optimizer, initial weights drawn from `rng` (tutorial's order)."""
    model = model_for(settings, rng)
    return model, make_optimizer(settings.optimizer, model.params)


def start_progress(settings: Settings, model, rng_state=None, members: tuple = ()) -> Progress:
    """Where a run starts: window 0 of epoch 0, from zero states."""
    batch = settings.batch_size
    return Progress.start(settings.num_windows, [s.numpy() for s in model.zero_state(batch)],
                          rng_state, members,
                          [s.numpy() for s in settings.gradient.start(model, batch)])


def train(config: TrainConfig | Settings = TrainConfig(), *, force: bool = False,
          stdout=None) -> Run:
    """Train as `config` says (by default the tutorial's experiment); write the run
    folder; return the Run. `config`: what was asked (a TrainConfig), or settings
    already resolved (settings.resolve, as the command line does).

    `config.seed` seeds numpy's RandomState, which draws W, W2, then each epoch's series
    in the tutorial's order, so a run can be compared with the tutorial program seeded
    with np.random.seed(seed).
    """
    settings = config if isinstance(config, Settings) else run_settings.resolve(config)
    for line in run_settings.known_not_to_learn(settings):
        print(f"rnnlab: warning: {line}", file=sys.stderr)
    with runfiles.exclusive(settings.out, create=True):
        run_dir = runfiles.create_run_dir(settings.out, force=force)
        writes.write_atomic(os.path.join(run_dir, "config.json"), settings.to_json())
        rng = np.random.RandomState(settings.seed)
        model, optimizer = new_model(settings, rng)
        progress = start_progress(settings, model, rng.get_state())
        return _run(settings, run_dir, model, optimizer, rng, progress, stdout)


def resume(run: str | Settings, *, stdout=None, **changes) -> Run:
    """Continue a run from its newest readable checkpoint, exactly where it stopped.

    `run`: its folder, or the settings it resumes with (settings.for_resume, as the
    command line makes them). Its settings come from its config.json; `changes` may set
    what a resume may change (settings.RESUMABLE): `epochs=N` extends it, `learning_rate`
    goes on at another rate (fine-tuning; recorded in config.json and epochs.csv),
    `patience` stops it early; `plot`, `gif`, `checkpoint_every`, `log_every` and `quiet`
    change only how it is shown and saved, never its numbers; `data` names its text file
    where it has moved.
    """
    wrong = set(changes) - set(run_settings.RESUMABLE) - {"data"}
    if wrong:
        raise TypeError(f"resume() cannot change {', '.join(sorted(wrong))}")
    run_dir = run.out if isinstance(run, Settings) else run
    settings = run if isinstance(run, Settings) else run_settings.for_resume(run_dir, changes)
    before = run_settings.stored(run_dir)  # config.json as it stands, before the flags
    model, optimizer = new_model(settings, np.random.RandomState(0))  # the checkpoint sets values

    def restored(warn=None) -> Progress:
        progress = restore_latest(run_dir, model, optimizer, warn=warn)
        run_settings.check_against_checkpoint(before, progress.settings, run_dir)
        check_unfinished(settings, progress, run_dir)
        return progress

    restored(warn=lambda line: None)  # before the folder is held: a resume refused here
                                      # changes nothing in it (a damaged one is told below)
    with runfiles.exclusive(run_dir):
        progress = restored()  # again: a run that trained meanwhile may have saved another
        changed = before.config.replace(out=run_dir, data=settings.data) != settings.config
        changed = changed or bool(before.absent)  # an older rnnlab's run: written whole now,
        # as its new checkpoints are (so a key deleted later is told from one never there)
        if changed and settings.learning_rate != before.learning_rate:
            progress.rate_scale = 1.0  # fine-tuning: the rate asked for, whatever decay did
        return _run(settings, run_dir, model, optimizer, np.random.RandomState(), progress,
                    stdout, config_changed=changed)


def check_unfinished(settings: Settings, progress: Progress, run_dir: str) -> None:
    """ConfigError when a run has no epoch left to train, saying how to give it more."""
    if progress.epoch >= settings.epochs:
        raise ConfigError(f"run {run_dir!r} has finished its {progress.epoch} epochs; "
                          f"pass --epochs N with N > {progress.epoch} to extend it")
    if settings.patience and progress.stale >= settings.patience:
        raise ConfigError(f"run {run_dir!r} stopped early after epoch {progress.epoch - 1}: its "
                          f"loss had not improved for {count(progress.stale, 'epoch')}; pass --patience "
                          f"N with N > {progress.stale} to go on")
    if len(progress.epoch_losses) != settings.num_windows:
        raise ConfigError(f"run {run_dir!r}: its checkpoint does not fit its config.json")


def _run(settings: Settings, run_dir, model, optimizer, rng, progress: Progress, stdout,
         config_changed: bool = False) -> Run:
    """The epochs from `progress` on: train, log, checkpoint, draw. `config_changed`: a
    resume changed settings, which a checkpoint and then config.json record at once."""
    task = settings.task
    corpus = None if task.synthetic else load_corpus(settings, task.word_level)

    def draw_epoch(progress: Progress):
        rng.set_state(progress.rng_state)  # a resumed epoch draws its series again
        x, y = task.series(rng, settings, corpus)
        return epoch_of(settings, progress.epoch, x, y, rng.get_state())

    run_windows = Compiled(lambda: compile_window_runner(model, optimizer, settings))
    board = TensorBoardLog(os.path.join(run_dir, "tensorboard"))
    checkpointer = Checkpointer(run_dir, model, optimizer)
    if progress.epoch or progress.window:  # resumed: the checkpoint it came from
        checkpointer.last_position = (progress.epoch, progress.window)
    progress.settings = settings.to_json()  # every checkpoint knows what it was trained with
    if config_changed:  # the checkpoint first: from then on it and config.json agree
        checkpointer.save(progress)
        writes.write_atomic(os.path.join(run_dir, "config.json"), settings.to_json())
    plot = live_figures.resolve_plot(settings.plot)
    live = (live_figures.open_live_figure(**figure.figure_settings(settings))
            if plot == "live" else None)

    with stop_requests() as request:
        watchers = [observers.DivergenceGuard(checkpointer),
                    observers.Snapshots(settings, live),
                    observers.Validation(settings, model, corpus),
                    *([observers.TextSample(settings, model, live)] if task.writes_text else []),
                    observers.Metrics(run_dir, progress),
                    observers.EpochsFile(run_dir, progress, settings.rate),
                    observers.Board(board),
                    observers.Improvement(settings, checkpointer),
                    observers.Checkpoints(settings, checkpointer, request),
                    observers.Console(settings, stdout or sys.stdout, request)]
        try:
            train_epochs(settings, run_windows, draw_epoch, progress, watchers, request)
        except WriteError as err:
            watchers[-1].close()
            board.close(quietly=True)
            raise WriteError(f"{err}; training stopped, {checkpointer.describe_last()}") from None
        except BaseException:
            watchers[-1].close()
            board.close(quietly=True)
            raise
        watchers[-1].close()
        board.close()

    _draw_figures(settings, run_dir, plot, live, progress)
    return Run(settings, model, progress.history, run_dir, live=live,
               snapshots=progress.snapshots)


def _draw_figures(settings, run_dir, plot, live, progress: Progress) -> None:
    """The figure's last state: kept on screen, written to figure.png, animated; and
    the learning curves, curves.png."""
    if plot in ("file", "live") and progress.losses:
        from rnnlab.run.curves import save_curves

        units = " (nats per symbol)" if not settings.task.synthetic else ""
        save_curves(os.path.join(run_dir, "curves.png"), progress.history,
                    run_title(settings), units)
    if not progress.snapshots:
        return
    losses = np.concatenate(progress.losses)
    last = progress.snapshots[-1]
    if live is not None:
        live.refresh(losses[:last.num_losses], last, force=True)
    if plot in ("file", "live"):
        figure.save_png(os.path.join(run_dir, "figure.png"), losses, last,
                        **figure.figure_settings(settings))
    if settings.gif:
        figure.save_gif(settings.gif, losses, progress.snapshots,
                        **figure.figure_settings(settings))


def run_title(settings: Settings) -> str:
    """A line saying what a run trains: its cell, layers, units, task and truncation."""
    layers = f"{settings.layers} x " if settings.layers > 1 else ""
    lag = f" {settings.echo_step}" if settings.task.lag else ""
    data = f" ({os.path.basename(settings.data)})" if settings.data else ""
    return (f"{settings.cell.name}, {layers}{count(settings.state_size, 'unit')}, task "
            f"{settings.task.name}{lag}{data}, truncation {settings.truncation}, "
            f"{settings.optimizer} {settings.rate:g}")


def train_population(members: list) -> dict:
    """Train every member (Settings, sharing a shape_key) for its `epochs` in one
    population (nn/population.py): each draws from its own RandomState(seed) in the
    order a single run does, so member i computes what `rnnlab train` with its settings
    computes, up to float rounding (a population multiplies its smallest matrices as
    broadcast sums, a single network as matrix products).

    Returns {"loss": [P, epochs], "accuracy": [P, epochs]}: each member's mean window
    loss and accuracy per epoch, as a single run's epoch summary reports them.
    """
    first = run_settings.check_population(members)
    task = first.task
    rngs = [np.random.RandomState(m.seed) for m in members]
    params = [init_params(rng, m.cell, m.layers, m.state_size, m.num_inputs, m.num_classes,
                          m.init, m.embedding) for rng, m in zip(rngs, members)]
    model = PopulationRNN(params, first.cell, task.regression, first.dropout)
    optimizer = make_optimizer(first.optimizer, model.params)
    seeds = [m.seed for m in members]
    run_windows = Compiled(lambda: compile_window_runner(model, optimizer, first, seeds))

    def draw_epoch(progress: Progress):  # each member draws from its own stream
        drawn = [task.series(rng, m, None) for rng, m in zip(rngs, members)]
        return epoch_of(first, progress.epoch, np.stack([x for x, _ in drawn]),
                        np.stack([y for _, y in drawn]), population=True)

    rates = np.array([m.rate for m in members], np.float32)
    progress = start_progress(first, model, members=(len(members),))
    train_epochs(first, run_windows, draw_epoch, progress, [observers.Improvement(first)],
                 base_rate=rates)
    history = progress.history
    return {"loss": history.epoch_loss.T, "accuracy": history.epoch_accuracy.T}
