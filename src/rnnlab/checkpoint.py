"""Checkpoints that rebuild a run from themselves: weights, Adagrad accumulators, and the
run's progress (position, numpy random state, carried RNN state, history, figure snapshots).
"""
from __future__ import annotations

import glob
import io
import os
import re
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from rnnlab._tf import tf
from rnnlab.viz import Snapshot

CHECKPOINT_DIR = "checkpoints"
KEEP = 3


class CheckpointError(RuntimeError):
    """No checkpoint of a run could be read; the message says which and why."""


@dataclass
class Progress:
    """Where a run stands, beyond its weights: enough to continue it bit for bit."""

    epoch: int                     # the epoch in progress (== epochs when the run is done)
    window: int                    # the next window of `epoch` to train
    rng_state: tuple               # numpy RandomState at the start of `epoch`
    carried_state: list            # the RNN state entering `window`: [batch, S] arrays
    epoch_losses: np.ndarray       # [num_windows] of `epoch`, filled up to `window`
    epoch_hits: np.ndarray         # [num_windows] correct bits per window, likewise
    losses: list = field(default_factory=list)      # per finished epoch: [num_windows]
    accuracies: list = field(default_factory=list)  # per finished epoch: [num_windows]
    seconds: list = field(default_factory=list)     # per finished epoch
    snapshots: list = field(default_factory=list)   # viz.Snapshot of every logged window

    def to_bytes(self) -> bytes:
        snaps = self.snapshots
        arrays = dict(
            position=np.array([self.epoch, self.window]),
            rng_keys=self.rng_state[1], rng_pos=np.array(self.rng_state[2]),
            rng_gauss=np.array([self.rng_state[3], self.rng_state[4]], dtype=np.float64),
            epoch_losses=self.epoch_losses,
            epoch_hits=self.epoch_hits,
            losses=np.array(self.losses, np.float32).reshape(len(self.losses), -1),
            accuracies=np.array(self.accuracies, np.float32).reshape(len(self.losses), -1),
            seconds=np.array(self.seconds, np.float64),
            snap_meta=np.array([(s.epoch, s.window, s.num_losses) for s in snaps], np.int64),
            snap_x=_symbols([s.x for s in snaps]),
            snap_y=_symbols([s.y for s in snaps]),
            snap_truth=np.array([s.truth for s in snaps if s.truth is not None], np.float32),
            snap_probs=np.array([s.probs for s in snaps], np.float32),
            snap_samples=np.array([s.sample for s in snaps], dtype=str),
            **{f"carried_state_{i}": s for i, s in enumerate(self.carried_state)})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Progress":
        a = np.load(io.BytesIO(data))
        epoch, window = (int(v) for v in a["position"])
        gauss = a["rng_gauss"]
        truths = list(a["snap_truth"]) if "snap_truth" in a.files else []
        snaps = [Snapshot(int(e), int(w), _unpack(x), _unpack(y), p, int(k), str(t),
                          truths[i] if i < len(truths) else None)
                 for i, ((e, w, k), x, y, p, t) in enumerate(zip(
                     a["snap_meta"], a["snap_x"], a["snap_y"], a["snap_probs"], a["snap_samples"]))]
        return cls(epoch, window,
                   ("MT19937", a["rng_keys"], int(a["rng_pos"]), int(gauss[0]), float(gauss[1])),
                   [a[f"carried_state_{i}"] for i in range(sum(k.startswith("carried_state_")
                                                               for k in a.files))],
                   a["epoch_losses"], a["epoch_hits"],
                   list(a["losses"]), list(a["accuracies"]), list(a["seconds"]), snaps)


def _symbols(arrays: list) -> np.ndarray:
    """Snapshot inputs or targets as stored: int32 symbols, or float32 numbers (adding)."""
    if arrays and np.issubdtype(arrays[0].dtype, np.floating):
        return np.array(arrays, np.float32)
    return np.array(arrays, np.int32)


def _unpack(a: np.ndarray) -> np.ndarray:
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.int64)


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
