"""A run, from its settings to its folder: train() starts one, resume() continues one."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from rnnlab import live as live_figures, observers, runfiles, settings, viz
from rnnlab._tf import Compiled
from rnnlab.board import TensorBoardLog
from rnnlab.checkpoint import Checkpointer, restore_latest
from rnnlab.config import ConfigError, TrainConfig
from rnnlab.corpus import load_corpus
from rnnlab.errors import WriteError
from rnnlab.model import model_for
from rnnlab.optim import make_optimizer
from rnnlab.records import History, Progress
from rnnlab.tasks import TASKS
from rnnlab.tbptt import compile_window_runner, epoch_of, stop_requests, train_epochs


@dataclass
class Run:
    config: TrainConfig
    model: object  # model.RNN (model.EchoRNN for the tutorial's cell)
    history: History
    out_dir: str
    live: object = None                            # the live figure, when one was shown
    snapshots: list = field(default_factory=list)  # the figure's logged windows (a few hundred
                                                   # at most, thinned evenly as a run goes on)


def new_model(config: TrainConfig, rng: np.random.RandomState):
    """The model and its optimizer, initial weights drawn from `rng` (tutorial's order)."""
    model = model_for(config, rng)
    return model, make_optimizer(config.optimizer, model.params)


def train(config: TrainConfig = TrainConfig(), *, force: bool = False, stdout=None) -> Run:
    """Train as `config` says (by default the tutorial's experiment); write the run
    folder; return the Run.

    `config.seed` seeds numpy's RandomState, which draws W, W2, then each epoch's series
    in the tutorial's order, so a run can be compared with the tutorial program seeded
    with np.random.seed(seed).
    """
    config = settings.prepare(config)
    with runfiles.exclusive(config.out, create=True):
        run_dir = runfiles.create_run_dir(config.out, force=force)
        runfiles.write_atomic(os.path.join(run_dir, "config.json"), config.to_json())
        rng = np.random.RandomState(config.seed)
        model, optimizer = new_model(config, rng)
        zeros = [s.numpy() for s in model.zero_state(config.batch_size)]
        progress = Progress.start(config.num_windows, zeros, rng.get_state())
        return _run(config, run_dir, model, optimizer, rng, progress, stdout)


def resume(run_dir: str, *, epochs: int | None = None, plot: str | None = None,
           gif: str | None = None, checkpoint_every: float | None = None,
           stdout=None) -> Run:
    """Continue a run from its newest readable checkpoint, exactly where it stopped.

    Its settings come from its config.json; `epochs` may extend the run; `plot`, `gif`
    and `checkpoint_every` change only how it is shown and saved, never its numbers.
    """
    with runfiles.exclusive(run_dir):
        stored = runfiles.read_config(run_dir)
        changes = {k: v for k, v in (("epochs", epochs), ("plot", plot), ("gif", gif),
                                     ("checkpoint_every", checkpoint_every)) if v is not None}
        config = settings.check(stored.replace(**changes, out=run_dir))
        settings.check_fits(config)
        model, optimizer = new_model(config, np.random.RandomState(0))  # the checkpoint sets values
        progress = restore_latest(run_dir, model, optimizer)
        if progress.epoch >= config.epochs:
            raise ConfigError(f"run {run_dir!r} has finished its {progress.epoch} epochs; "
                              f"pass --epochs N with N > {progress.epoch} to extend it")
        if len(progress.epoch_losses) != config.num_windows:
            raise ConfigError(f"run {run_dir!r}: its checkpoint does not fit its config.json")
        if config.epochs != stored.epochs:
            runfiles.write_atomic(os.path.join(run_dir, "config.json"), config.to_json())
        return _run(config, run_dir, model, optimizer, np.random.RandomState(), progress, stdout)


def _run(config, run_dir, model, optimizer, rng, progress: Progress, stdout) -> Run:
    """The epochs from `progress` on: train, log, checkpoint, draw."""
    task = TASKS[config.task]
    corpus = None if task.synthetic else load_corpus(config, task.word_level)

    def draw_epoch(progress: Progress):
        rng.set_state(progress.rng_state)  # a resumed epoch draws its series again
        x, y = task.series(rng, config, corpus)
        return epoch_of(config, progress.epoch, x, y, rng.get_state())

    run_windows = Compiled(lambda: compile_window_runner(model, optimizer, config))
    board = TensorBoardLog(os.path.join(run_dir, "tensorboard"))
    checkpointer = Checkpointer(run_dir, model, optimizer)
    if progress.epoch or progress.window:  # resumed: the checkpoint it came from
        checkpointer.last_position = (progress.epoch, progress.window)
    plot = live_figures.resolve_plot(config.plot)
    live = live_figures.open_live_figure(**viz.figure_settings(config)) if plot == "live" else None

    with stop_requests() as request:
        watchers = [observers.DivergenceGuard(checkpointer),
                    observers.Snapshots(config, live),
                    observers.Validation(config, model, corpus),
                    *([observers.TextSample(config, model, live)] if task.writes_text else []),
                    observers.Metrics(run_dir, progress),
                    observers.EpochsFile(run_dir, progress, config.rate),
                    observers.Board(board),
                    observers.Improvement(config, checkpointer),
                    observers.Checkpoints(config, checkpointer, request),
                    observers.Console(config, stdout or sys.stdout)]
        try:
            train_epochs(config, run_windows, draw_epoch, progress, watchers, request)
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

    _draw_figures(config, run_dir, plot, live, progress)
    return Run(config, model, progress.history, run_dir, live=live, snapshots=progress.snapshots)


def _draw_figures(config, run_dir, plot, live, progress: Progress) -> None:
    """The figure's last state: kept on screen, written to figure.png, animated."""
    if not progress.snapshots:
        return
    losses = np.concatenate(progress.losses)
    last = progress.snapshots[-1]
    if live is not None:
        live.refresh(losses[:last.num_losses], last, force=True)
    if plot in ("file", "live"):
        viz.save_png(os.path.join(run_dir, "figure.png"), losses, last,
                     **viz.figure_settings(config))
    if config.gif:
        viz.save_gif(config.gif, losses, progress.snapshots, **viz.figure_settings(config))
