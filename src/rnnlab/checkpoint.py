"""Checkpoints that rebuild a run from themselves: weights, Adagrad accumulators, and the
run's progress (position, numpy random state, carried RNN state, history, figure snapshots).
"""
from __future__ import annotations

import glob
import os
import re
import sys
import time

from rnnlab._tf import tf
from rnnlab.records import Progress

CHECKPOINT_DIR = "checkpoints"
KEEP = 3


class CheckpointError(RuntimeError):
    """No checkpoint of a run could be read; the message says which and why."""


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


def checkpoint_paths(run_dir: str) -> list:
    """Checkpoint prefixes of a run, newest first (found on disk, not from an index file
    that a kill may have left stale)."""
    found = glob.glob(os.path.join(run_dir, CHECKPOINT_DIR, "ckpt-*.index"))
    numbered = [(int(m.group(1)), p[:-len(".index")]) for p in found
                if (m := re.search(r"ckpt-(\d+)\.index$", p))]
    return [p for _, p in sorted(numbered, reverse=True)]


def restore_latest(run_dir: str, model, optimizer=None,
                   warn=None) -> Progress:
    """Load the newest readable checkpoint into `model` (and `optimizer`); return its Progress.

    An unreadable checkpoint (truncated, corrupt) is reported in one line and the next
    older one is tried; with none readable, CheckpointError.
    """
    warn = warn or (lambda line: print(line, file=sys.stderr))
    paths = checkpoint_paths(run_dir)
    if not paths:
        raise CheckpointError(f"{run_dir!r} holds no checkpoint ({CHECKPOINT_DIR}/ is empty or missing)")
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
            return state.progress
        # TensorFlow reports a damaged file in many ways (DataLossError, IndexError from
        # a short read, ValueError from a bad index, ...): each means "this one is unusable".
        except Exception as err:
            reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
            warn(f"rnnlab: checkpoint {os.path.relpath(path, run_dir)} is unreadable ({reason}); "
                 f"trying an older one")
    raise CheckpointError(f"no readable checkpoint in {run_dir!r}: all {len(paths)} are damaged")


class Checkpointer:
    """Saves a run's checkpoints into RUN_DIR/checkpoints, keeping the newest few."""

    def __init__(self, run_dir: str, model, optimizer):
        self.state = _ProgressState()
        checkpoint = _checkpoint(model, optimizer, self.state)
        existing = checkpoint_paths(run_dir)
        self.manager = tf.train.CheckpointManager(
            checkpoint, os.path.join(run_dir, CHECKPOINT_DIR), max_to_keep=KEEP)
        if existing:  # a resumed run goes on numbering after its checkpoints
            checkpoint.save_counter.assign(int(existing[0].rsplit("-", 1)[1]))
        self.run_dir = run_dir
        self.last_save = float("-inf")  # time.monotonic() of the last save
        self.last_position = None       # (epoch, window) the newest checkpoint holds

    def save(self, progress: Progress) -> str:
        self.state.progress = progress
        path = self.manager.save()
        self.last_save = time.monotonic()
        self.last_position = (progress.epoch, progress.window)
        return path

    def describe_last(self) -> str:
        """Where the newest checkpoint stands, for a message that stops training."""
        if self.last_position is None:
            return "no checkpoint was written before it"
        epoch, window = self.last_position
        where = f"after epoch {epoch - 1}" if window == 0 else f"epoch {epoch}, window {window}"
        return f"the last good checkpoint ({where}) is kept in {self.run_dir}"
