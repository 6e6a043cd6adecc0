"""Checkpoints that rebuild a run from themselves: the model's weights, the optimizer's
slots (whichever it keeps: Adagrad's accumulators, Adam's moments, ...), and the run's
progress (position, numpy random state, carried RNN state, what the gradient algorithm
carries, history, figure snapshots).
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sys
import time

from rnnlab._tf import tf
from rnnlab.errors import CheckpointError
from rnnlab.run.records import Progress
from rnnlab.run.writes import write_error

CHECKPOINT_DIR = "checkpoints"
BEST_DIR = os.path.join(CHECKPOINT_DIR, "best")  # the lowest validation loss's, beside them
KEEP = 3


class _ProgressState(tf.train.experimental.PythonState):
    """Lets tf.train.Checkpoint carry a Progress in the same atomic save as the weights."""

    def __init__(self):
        self.progress = None

    def serialize(self):
        return self.progress.to_bytes()

    def deserialize(self, string_value):
        self.progress = Progress.from_bytes(string_value)


def _checkpoint(model, optimizer, state) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(model=model, optimizer=optimizer, progress=state)


def checkpoint_paths(run_dir: str, folder: str = CHECKPOINT_DIR) -> list:
    """Checkpoint prefixes of a run, newest first (found on disk, not from an index file
    that a kill may have left stale)."""
    found = glob.glob(os.path.join(run_dir, folder, "ckpt-*.index"))
    numbered = [(int(m.group(1)), p[:-len(".index")]) for p in found
                if (m := re.search(r"ckpt-(\d+)\.index$", p))]
    return [p for _, p in sorted(numbered, reverse=True)]


def restore_latest(run_dir: str, model, optimizer=None, warn=None, tries: int = 5,
                   best: bool = False) -> Progress:
    """Load the newest readable checkpoint into `model` (and `optimizer`); return its
    Progress. With `best`, the best one (by validation loss) where the run has one.

    An unreadable checkpoint (truncated, corrupt) is reported in one line and the next
    older one is tried (an unreadable best one: the newest); with none readable,
    CheckpointError, in one line for all of them. So is a checkpoint that does not fit
    the model (config.json edited): no older one would fit either. A checkpoint that
    vanishes while it is read (a run training there rotates its checkpoints) is passed
    over without a word.
    """
    warn = warn or (lambda line: print(line, file=sys.stderr))
    paths = (checkpoint_paths(run_dir, BEST_DIR) if best else []) + checkpoint_paths(run_dir)
    if not paths:
        raise CheckpointError(f"{run_dir!r} holds no checkpoint: its run stopped before the "
                              f"first one; start it over with the same `rnnlab train` command")
    damaged, told = 0, []
    for path in paths:
        state = _ProgressState()
        parts = {"model": model, "progress": state}
        if optimizer is not None:
            parts["optimizer"] = optimizer
        try:
            status = tf.train.Checkpoint(**parts).restore(path)
            status.assert_existing_objects_matched()
            if state.progress is None:
                raise ValueError("it holds no run progress")
            for line in told:  # said only now: where none is readable, one line says all
                warn(line)
            return state.progress
        except (AssertionError, ValueError) as err:
            if isinstance(err, AssertionError) or "incompatible" in str(err):
                raise CheckpointError(f"{run_dir}: config.json does not fit the run's "
                                      f"checkpoints ({_first_line(err)}); was it edited?") from None
            damaged += _unreadable(path, run_dir, err, told.append)
        # TensorFlow reports a damaged file in many ways (DataLossError, IndexError from
        # a short read, ...): each means "this one is unusable".
        except Exception as err:
            damaged += _unreadable(path, run_dir, err, told.append)
    if not damaged and tries > 1:  # all rotated away while we read: newer ones are there
        return restore_latest(run_dir, model, optimizer, warn, tries - 1, best)
    raise CheckpointError(f"no readable checkpoint in {run_dir!r}: all {len(paths)} are damaged")


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__


def _unreadable(path: str, run_dir: str, err: Exception, warn) -> int:
    if not os.path.exists(path + ".index"):
        return 0
    older = "the newest" if os.path.basename(os.path.dirname(path)) == "best" else "an older one"
    warn(f"rnnlab: checkpoint {os.path.relpath(path, run_dir)} is unreadable "
         f"({_first_line(err)}); trying {older}")
    return 1


class Checkpointer:
    """Saves a run's checkpoints into RUN_DIR/checkpoints, keeping the newest few. Its
    process holds the run folder (runfiles.exclusive)."""

    def __init__(self, run_dir: str, model, optimizer):
        self.state = _ProgressState()
        checkpoint = _checkpoint(model, optimizer, self.state)
        self.folder = os.path.join(run_dir, CHECKPOINT_DIR)
        self.best_folder = os.path.join(run_dir, BEST_DIR)
        for folder in (self.folder, self.best_folder):
            remove_partial_saves(folder)
            forget_damaged_state(folder)
        self.manager = tf.train.CheckpointManager(checkpoint, self.folder, max_to_keep=KEEP)
        self.best = tf.train.CheckpointManager(_checkpoint(model, optimizer, self.state),
                                               self.best_folder, max_to_keep=1)
        for manager, folder in ((self.manager, CHECKPOINT_DIR), (self.best, BEST_DIR)):
            existing = checkpoint_paths(run_dir, folder)
            if existing:  # a resumed run goes on numbering after its checkpoints
                manager.checkpoint.save_counter.assign(int(existing[0].rsplit("-", 1)[1]))
        self.run_dir = run_dir
        self.last_save = float("-inf")  # time.monotonic() of the last save
        self.last_position = None       # (epoch, window) the newest checkpoint holds

    def save(self, progress: Progress, best: bool = False) -> str:
        """A checkpoint of the model, optimizer and `progress` (`best`: as the best so
        far, beside the newest); WriteError (and nothing of it left behind) when it
        cannot be written."""
        self.state.progress = progress
        manager, folder = (self.best, self.best_folder) if best else (self.manager, self.folder)
        try:
            path = manager.save()
        except (tf.errors.OpError, OSError) as err:
            remove_partial_saves(folder)
            raise write_error(folder, err) from None
        keep_newest(folder, 1 if best else KEEP)
        if not best:
            self.last_save = time.monotonic()
            self.last_position = (progress.epoch, progress.window)
        return path

    def describe_last(self) -> str:
        """Where the newest checkpoint stands, for a message that stops training."""
        if self.last_position is None:
            return "no checkpoint was written before it"  # so the next run starts over
        epoch, window = self.last_position
        where = f"after epoch {epoch - 1}" if window == 0 else f"epoch {epoch}, window {window}"
        return f"the last good checkpoint ({where}) is kept in {self.run_dir}"


def keep_newest(folder: str, keep: int) -> None:
    """The newest `keep` checkpoints of `folder`, as found on disk, and no others (the
    manager forgets the ones its state file did not list: one found damaged, say)."""
    found = glob.glob(os.path.join(folder, "ckpt-*.index"))
    numbered = sorted((int(m.group(1)), p[:-len(".index")]) for p in found
                      if (m := re.search(r"ckpt-(\d+)\.index$", p)))
    for _, prefix in numbered[:-keep]:
        for path in glob.glob(glob.escape(prefix) + ".*"):
            with contextlib.suppress(OSError):
                os.unlink(path)


def forget_damaged_state(folder: str) -> None:
    """TensorFlow's `checkpoint` state file, which lists a folder's checkpoints (rnnlab
    finds them on disk instead), removed when it cannot be read as it reads it (bytes
    that are not UTF-8, a cut-off line): its CheckpointManager would fail on it."""
    path = os.path.join(folder, "checkpoint")
    try:
        with open(path, "rb") as f:
            tf.train.get_checkpoint_state(folder)
            f.read().decode("utf-8")
    except FileNotFoundError:
        return
    except Exception:  # noqa: BLE001 (TensorFlow reports a damaged file in many ways)
        with contextlib.suppress(OSError):
            os.unlink(path)


def remove_partial_saves(folder: str) -> None:
    """What a save that failed or was killed left in `folder`: TensorFlow's temporary
    folders, data files whose index was never written, and its state file's temporary
    copies (`checkpoint.tmp...`: a second Ctrl-C mid-save)."""
    complete = {p + "." for p in glob.glob(os.path.join(folder, "ckpt-*.index"))}
    complete = {p[:-len("index.")] for p in complete}
    for path in glob.glob(os.path.join(folder, "checkpoint.tmp*")):
        with contextlib.suppress(OSError):
            os.unlink(path)
    for path in glob.glob(os.path.join(folder, "ckpt-*")):
        if "_temp" in os.path.basename(path):
            shutil.rmtree(path, ignore_errors=True)
        elif not any(path.startswith(prefix) for prefix in complete):
            with contextlib.suppress(OSError):
                os.unlink(path)


def load_trained(run_dir: str, newest: bool = False):
    """(settings, model) of a run folder, the model with the weights of its best
    checkpoint (lowest validation loss, for runs that have one) or with `newest` of its
    newest readable one: what eval, predict, sample, export and diagnose read. They work
    while the run trains."""
    import numpy as np

    from rnnlab.nn.model import model_for
    from rnnlab.settings import check_against_checkpoint, stored

    settings = stored(run_dir)
    model = model_for(settings, np.random.RandomState(0))  # the checkpoint sets the values
    progress = restore_latest(run_dir, model, best=not newest)
    check_against_checkpoint(settings, progress.settings, run_dir, reading=True)
    return settings, model
