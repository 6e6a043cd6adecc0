"""Every file rnnlab writes goes through here, so that each write keeps the same
promises: what a user already had is never lost, and a write that cannot happen stops
the command with one line naming the file.

- A file is written whole beside its place and renamed over it (`replacing`): a kill
  never leaves half of one. A place that holds something other than a regular file (a
  folder, a device such as /dev/null, a pipe, a socket) is refused (`check_target`),
  before any work where a command can (RunDirError, exit code 2), and again at the
  moment of the rename: renaming over /dev/null would replace the system's.
- A folder (a SavedModel) is written whole beside its place and renamed into it.
- Appending (metrics.csv, epochs.csv) adds to a file; it never rewrites it.
- Any failure (a full disk, a read-only folder, a name the file system cannot hold) is
  a WriteError naming the path (exit code 4).
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat

from rnnlab.errors import RunDirError, WriteError

KINDS = {stat.S_ISDIR: "a folder", stat.S_ISCHR: "a character device",
         stat.S_ISBLK: "a block device", stat.S_ISFIFO: "a named pipe",
         stat.S_ISSOCK: "a socket"}
FAILURES = (OSError, UnicodeError, ValueError)  # ValueError: a NUL byte in a path


def write_error(path: str, err: Exception) -> WriteError:
    """WriteError naming `path` and the system's reason (TensorFlow's errors end with it,
    after the temporary file they were writing)."""
    reason = getattr(err, "strerror", None) or getattr(err, "message", None) or str(err)
    reason = reason.strip().splitlines()[-1].rsplit("; ", 1)[-1][:200] if reason.strip() else ""
    return WriteError(f"cannot write {shown(path)}: {reason or type(err).__name__}")


def shown(path: str) -> str:
    """A path as a line can show it, whatever bytes its name holds."""
    try:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    except (UnicodeError, TypeError):
        return repr(path)


def kind_of(path: str) -> str | None:
    """What stands at `path` if it is not a regular file ("a folder", ...); None for a
    regular file or nothing (a symbolic link is judged by what it points at)."""
    try:
        mode = os.stat(path).st_mode
    except FAILURES:
        return None
    return next((kind for test, kind in KINDS.items() if test(mode)), None)


def check_target(path: str, what: str) -> None:
    """RunDirError unless `path` is a regular file or absent: rnnlab writes a file by
    replacing it, which would replace a folder's or a device's place."""
    kind = kind_of(path)
    if kind:
        raise RunDirError(f"{what} {shown(path)!r} is {kind}, not a file; rnnlab writes a file "
                          f"there by replacing it: name a file")


@contextlib.contextmanager
def replacing(path: str, suffix: str = ""):
    """Yields a temporary path beside `path` (ending in `suffix`, for writers that go by
    the extension); once the block has written it, it is renamed over `path`."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        kind = kind_of(path)
        if kind:
            raise WriteError(f"cannot write {shown(path)}: it is {kind} now")
        os.replace(tmp, path)
    except FAILURES as err:
        raise write_error(path, err) from None
    finally:
        with contextlib.suppress(*FAILURES):
            os.unlink(tmp)


def write_atomic(path: str, text: str) -> None:
    """`text` as the whole of file `path` (UTF-8)."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def savefig_atomic(fig, path: str, **options) -> None:
    """A matplotlib figure as the picture `path` (its format from the extension)."""
    with replacing(path, os.path.splitext(path)[1]) as tmp:
        fig.savefig(tmp, **options)


def append(path: str, text: str) -> None:
    """`text` added at the end of file `path`."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
    except FAILURES as err:
        raise write_error(path, err) from None


@contextlib.contextmanager
def replacing_folder(folder: str):
    """Yields a temporary folder beside `folder` (which must be absent or empty); once
    the block has written it, it is renamed into place. What a killed writer left
    beside it (its temporary folder) is removed first."""
    parent, name = os.path.split(os.path.abspath(folder))
    for stale in glob.glob(os.path.join(glob.escape(parent), f".{glob.escape(name)}.*.tmp")):
        pid = stale.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = os.path.join(parent, f".{name}.{os.getpid()}.tmp")
    try:
        yield tmp
        if os.path.isdir(folder):
            os.rmdir(folder)  # empty (the command checked): renamed over, it would not be
        os.rename(tmp, folder)
    except FAILURES as err:
        raise write_error(folder, err) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def check_output_folder(folder: str, what: str, named: str | None = None) -> None:
    """Make `folder` (and its parents) if needed and check that a file can be written
    there, before any work whose result would go there: RunDirError names the path
    (or `named`, what is to be written there)."""
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, f".rnnlab-probe.{os.getpid()}")
        with open(probe, "w"):
            pass
        os.unlink(probe)
    except FAILURES as err:
        raise RunDirError(f"{what} {shown(named or folder)!r} cannot be written: "
                          f"{getattr(err, 'strerror', None) or err}") from None
