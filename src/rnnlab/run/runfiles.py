"""The run folder: who may write it (one process at a time), what makes a folder a run,
and its metrics.csv. Its files are written through run/writes.py."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import sys
import time

import numpy as np

from rnnlab.errors import RunDirError
from rnnlab.run.writes import append, check_output_folder, write_atomic, write_error

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not guarded against each other
    fcntl = None

METRICS_HEADER = "epoch,window,loss,accuracy\n"
LOCK_FILE = ".lock"
RUN_FILES = ("config.json", "metrics.csv", "epochs.csv", "figure.png", "curves.png",
             "checkpoints", "tensorboard", "diagnose.csv", "diagnose.png", "inspect.html")


def format_epoch_rows(epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> str:
    """metrics.csv rows of one epoch; float32 values in their shortest exact form."""
    losses = losses.astype(np.float32)
    accuracies = accuracies.astype(np.float32)
    return "".join(f"{epoch},{w},{str(loss)},{str(accuracy)}\n"
                   for w, (loss, accuracy) in enumerate(zip(losses, accuracies)))


class MetricsFile:
    """metrics.csv, one row per window: written whole (atomically) when a run starts or
    resumes, then an epoch's rows appended at its end, so a long run costs each epoch
    its own rows, not the whole file again. A stopped epoch's rows are appended too;
    a resumed run writes the file whole again from its checkpoint, without them."""

    def __init__(self, path: str, blocks: list | None = None):
        self.path = path
        write_atomic(path, METRICS_HEADER + "".join(blocks or []))

    def add_epoch(self, epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> None:
        self.append(format_epoch_rows(epoch, losses, accuracies))

    def append(self, rows: str) -> None:
        append(self.path, rows)


# One process writes a run folder at a time: it holds an exclusive lock on RUN/.lock,
# which the system releases when the process ends however it ends (SIGKILL too), so a
# killed run never leaves its folder locked. The file says who holds it.
_HELD = {}  # real path of the folder -> [file descriptor, holders in this process]


@contextlib.contextmanager
def exclusive(run_dir: str, create: bool = False):
    """Hold `run_dir` for writing while the block runs (making it first, if `create`).
    RunDirError when another process holds it, naming that process, or when the
    folder cannot be written. Nested holds in one process share the lock."""
    if create:
        check_output_folder(run_dir, "run folder")
    key = os.path.realpath(run_dir)
    if key in _HELD or fcntl is None:
        _HELD.setdefault(key, [None, 0])[1] += 1
        try:
            yield
        finally:
            _release(key)
        return
    path = os.path.join(run_dir, LOCK_FILE)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise RunDirError(f"run folder {run_dir!r} cannot be written ({err.strerror}); "
                          f"this command writes into it") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        owner = ""
        for _ in range(20):  # a holder that has just locked writes its name a moment later
            owner = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip()
            if owner:
                break
            time.sleep(0.02)
        os.close(fd)
        owner = owner or "another process"
        raise RunDirError(f"run folder {run_dir!r} is in use by {owner}; one process writes "
                          f"a run folder at a time") from None
    command = " ".join(["rnnlab"] + sys.argv[1:]) if sys.argv and sys.argv[0] else "python"
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{command[:300]} (pid {os.getpid()} on {socket.gethostname()}, since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode("utf-8", "backslashreplace"), 0)
    except OSError as err:  # a disk full before the command began
        os.close(fd)
        raise write_error(path, err) from None
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        _release(key)


def check_free(run_dir: str) -> None:
    """RunDirError, at once, when another process holds `run_dir`; the folder and its
    lock file are left as they are (a command that then fails has changed nothing)."""
    path = os.path.join(run_dir, LOCK_FILE)
    if fcntl is None or os.path.realpath(run_dir) in _HELD:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file: nobody ever held it; unreadable: exclusive() will say
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        owner = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip() or "another process"
        raise RunDirError(f"run folder {run_dir!r} is in use by {owner}; one process writes "
                          f"a run folder at a time") from None
    finally:
        os.close(fd)


def _release(key: str) -> None:
    _HELD[key][1] -= 1
    if _HELD[key][1] == 0:
        fd = _HELD.pop(key)[0]
        if fd is not None:
            os.close(fd)  # and with it the lock


def has_checkpoint(run_dir: str) -> bool:
    return bool(glob.glob(os.path.join(run_dir, "checkpoints", "ckpt-*.index")))


def check_run_dir(path: str, force: bool = False) -> bool:
    """Whether a new run may use folder `path`: empty or absent, or with `force`, or
    holding only what a run left that stopped before its first checkpoint (True: it
    starts over). Otherwise RunDirError: never overwrite a run by accident."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirError(f"--out {path!r} exists and is not a folder")
    entries = set(os.listdir(path)) - {LOCK_FILE} if os.path.isdir(path) else set()
    if not entries or force:
        return False
    if ("config.json" in entries and entries <= set(RUN_FILES) and not has_checkpoint(path)
            and _written_by_rnnlab(os.path.join(path, "config.json"))):
        return True
    raise RunDirError(f"run folder {path!r} already holds files; "
                      f"use --resume {path} to continue it, --force to overwrite it, "
                      f"or another --out")


def _written_by_rnnlab(config_path: str) -> bool:
    """Whether `config_path` is a run's config.json: a regular file (not a link, a pipe,
    a device) holding the JSON object of a run's settings. Anything else is the user's."""
    if os.path.islink(config_path) or not os.path.isfile(config_path):
        return False
    try:
        with open(config_path, encoding="utf-8") as f:
            held = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(held, dict) and {"task", "truncation", "state_size"} <= set(held)


def create_run_dir(path: str, force: bool = False) -> str:
    """Make the run folder (the caller holds it). With `force`, or when it holds a run
    stopped before its first checkpoint, remove what an earlier run left there (and only
    that: rnnlab's own files), so old checkpoints cannot mix with the new run."""
    restart = check_run_dir(path, force)
    if restart:
        print(f"rnnlab: {path} held a run stopped before its first checkpoint; starting it over",
              file=sys.stderr)
    if (force or restart) and os.path.isdir(path):
        for name in RUN_FILES:
            target = os.path.join(path, name)
            try:
                if os.path.isdir(target):
                    shutil.rmtree(target)
                elif os.path.exists(target):
                    os.unlink(target)
            except OSError as err:
                raise write_error(target, err) from None
    check_output_folder(path, "run folder")
    return path
