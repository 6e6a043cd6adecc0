"""The run folder: config.json, metrics.csv and figure files, each written atomically."""
from __future__ import annotations

import os

import numpy as np

METRICS_HEADER = "epoch,window,loss,accuracy\n"


def write_atomic(path: str, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a kill never leaves half a file."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def format_epoch_rows(epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> str:
    """metrics.csv rows of one epoch; float32 values in their shortest exact form."""
    losses = losses.astype(np.float32)
    accuracies = accuracies.astype(np.float32)
    return "".join(f"{epoch},{w},{str(l)},{str(a)}\n"
                   for w, (l, a) in enumerate(zip(losses, accuracies)))


class MetricsFile:
    """metrics.csv, one row per window, rewritten atomically at each epoch end.

    The formatted rows are kept, so a rewrite costs one file write, not a reformat.
    """

    def __init__(self, path: str, blocks: list | None = None):
        self.path = path
        self.blocks = list(blocks or [])

    def add_epoch(self, epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> None:
        self.blocks.append(format_epoch_rows(epoch, losses, accuracies))
        write_atomic(self.path, METRICS_HEADER + "".join(self.blocks))


class RunDirError(RuntimeError):
    """The run folder cannot be used as asked; the message says what to do instead."""


def check_run_dir(path: str, force: bool = False) -> None:
    """Refuse a run folder that holds files unless `force`: never overwrite a run by accident."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirError(f"--out {path!r} exists and is not a folder")
    if os.path.isdir(path) and os.listdir(path) and not force:
        raise RunDirError(f"run folder {path!r} already holds files; "
                          f"use --resume {path} to continue it, --force to overwrite it, "
                          f"or another --out")


def create_run_dir(path: str, force: bool = False) -> str:
    check_run_dir(path, force)
    os.makedirs(path, exist_ok=True)
    return path
