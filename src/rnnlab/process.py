"""What the command line does to its process before a command runs, so that the
environment it was started in cannot turn into a traceback or a wall of warnings:

- standard output and error: closed ones (`>&-`) become a sink, so a run still trains
  (and --help says nothing); characters a stream cannot encode (an ASCII terminal, a
  path with bytes that are not UTF-8) are written as escapes; a write that fails (a
  full device, a pipe whose reader went away) is an OutputError, which the command
  line turns into one line and an exit code, and training into a stop with a
  checkpoint;
- matplotlib's folders: where its default one cannot be made (a missing or read-only
  HOME), a temporary one, instead of its warnings on every run;
- MPLBACKEND naming no backend: one line, and the figures are drawn without it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile

from rnnlab.errors import WriteError


class OutputError(WriteError):
    """Standard output or error could not be written. `closed`: its reader went away
    (a pipe into `head`), which ends a command quietly, as the pipe's writer does."""

    def __init__(self, name: str, err: OSError):
        self.closed = err.errno == errno.EPIPE
        super().__init__(f"cannot write standard {name}: {err.strerror or err}")


class Stream:
    """A standard stream whose failed writes are OutputErrors."""

    def __init__(self, stream, name: str):
        self.stream, self.name = stream, name

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as err:
            raise OutputError(self.name, err) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as err:
            raise OutputError(self.name, err) from None

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextlib.contextmanager
def prepared(draws: bool = True):
    """The process as a command needs it, for the block; the streams as they were after.
    `draws`: the command draws figures (matplotlib's backend is checked)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = Stream(_usable(sys.stdout), "output")
    sys.stderr = Stream(_usable(sys.stderr), "error")
    _matplotlib_folder()
    if draws:
        _matplotlib_backend()
    try:
        yield
    finally:
        with contextlib.suppress(OutputError):
            sys.stdout.flush()
        sys.stdout, sys.stderr = saved


_TEMPORARY = []  # folders made for this process, removed when it ends


def finish(code: int) -> None:
    """End the process now, with exit code `code`, once what it wrote is out: its
    streams flushed, its temporary folders removed. Every file rnnlab writes is whole
    and closed by the time a command returns; what Python and TensorFlow would do at
    exit besides (about a second of teardown) is not needed."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    for folder in _TEMPORARY:
        shutil.rmtree(folder, ignore_errors=True)
    os._exit(code if isinstance(code, int) else 1)


def quiet_exit() -> None:
    """After the reader of standard output went away: whatever is still buffered goes
    nowhere (Python would report it at exit, and exit 120)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())


def _usable(stream):
    """`stream`, writing escapes for what it cannot encode; a sink if it was closed."""
    if stream is None:
        return open(os.devnull, "w")
    with contextlib.suppress(AttributeError, ValueError, OSError):
        stream.reconfigure(errors="backslashreplace")
    return stream


def _matplotlib_folder() -> None:
    """MPLCONFIGDIR: a temporary folder where matplotlib's default one cannot be made."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    folder = os.path.join(base, "matplotlib")
    try:
        os.makedirs(folder, exist_ok=True)
        if os.access(folder, os.W_OK | os.X_OK):
            return
    except OSError:
        pass
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="rnnlab-matplotlib-")
    _TEMPORARY.append(os.environ["MPLCONFIGDIR"])


def _matplotlib_backend() -> None:
    """One line, and no MPLBACKEND, where it names no backend matplotlib has (its import
    would fail with a ValueError)."""
    name = os.environ.get("MPLBACKEND")
    if not name or "matplotlib" in sys.modules:
        return
    try:
        import matplotlib  # noqa: F401
    except ValueError:
        for module in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
            del sys.modules[module]
        del os.environ["MPLBACKEND"]
        print(f"rnnlab: MPLBACKEND={name!r} names no matplotlib backend; drawing without it",
              file=sys.stderr)
