"""The run folder: config.json, metrics.csv and figure files, each written atomically."""
from __future__ import annotations

import os
import shutil

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


def savefig_atomic(fig, path: str, **options) -> None:
    """fig.savefig into a temporary file beside `path`, then renamed: a kill never
    leaves half a picture."""
    root, ext = os.path.splitext(path)
    tmp = f"{root}.{os.getpid()}.tmp{ext}"
    try:
        fig.savefig(tmp, **options)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def format_epoch_rows(epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> str:
    """metrics.csv rows of one epoch; float32 values in their shortest exact form."""
    losses = losses.astype(np.float32)
    accuracies = accuracies.astype(np.float32)
    return "".join(f"{epoch},{w},{str(loss)},{str(accuracy)}\n"
                   for w, (loss, accuracy) in enumerate(zip(losses, accuracies)))


class MetricsFile:
    """metrics.csv, one row per window, rewritten atomically at each epoch end.

    The formatted rows are kept, so a rewrite costs one file write, not a reformat.
    """

    def __init__(self, path: str, blocks: list | None = None):
        self.path = path
        self.blocks = list(blocks or [])

    def add_epoch(self, epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> None:
        self.blocks.append(format_epoch_rows(epoch, losses, accuracies))
        self.write()

    def write(self, extra: str = "") -> None:
        """Rewrite the file; `extra` rows (a partial epoch) are shown but not kept."""
        write_atomic(self.path, METRICS_HEADER + "".join(self.blocks) + extra)


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
    """Make the run folder. With `force`, remove what an earlier run left there (and
    only that: rnnlab's own files), so old checkpoints cannot mix with the new run."""
    check_run_dir(path, force)
    if force and os.path.isdir(path):
        for name in RUN_FILES:
            target = os.path.join(path, name)
            if os.path.isdir(target):
                shutil.rmtree(target)
            elif os.path.exists(target):
                os.unlink(target)
    os.makedirs(path, exist_ok=True)
    return path


RUN_FILES = ("config.json", "metrics.csv", "figure.png", "checkpoints", "tensorboard",
             "diagnose.csv", "diagnose.png")


def read_config(run_dir: str):
    """The TrainConfig of an existing run, every setting checked as strictly as the
    command line's, or RunDirError saying what is missing or wrong in config.json."""
    from rnnlab import settings
    from rnnlab.config import ConfigError, TrainConfig

    path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir):
        raise RunDirError(f"run folder {run_dir!r} does not exist")
    if not os.path.isfile(path):
        raise RunDirError(f"{run_dir!r} is not a run folder: it has no config.json")
    try:
        with open(path) as f:
            return settings.check(TrainConfig.from_json(f.read()))
    except (OSError, ValueError, TypeError) as err:  # JSON, UTF-8 and settings errors
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        what = "a setting that cannot work" if isinstance(err, ConfigError) else "no readable config"
        raise RunDirError(f"{path} holds {what}: {reason}") from None
