"""`python -m rnnlab ...`, the same as the `rnnlab` command, whose entry point `entry` is.

A signal that comes while Python loads the command line (Ctrl-C at once, a kill) stops
it with one line and the exit code of that signal, as it does later (cli.main), not a
traceback: this module imports nothing that takes time before it can answer (`_signal`,
the C module, is loaded with Python; `signal` would take milliseconds to build its enums).
"""
import _signal
import sys


class _Terminated(KeyboardInterrupt):
    """SIGTERM while the command line loads."""


def _terminated(signum, frame):
    raise _Terminated


def entry() -> int:
    """The command line; once a command is done, the process ends at once (process.finish):
    TensorFlow's teardown takes a second, in which a signal would find Python's default
    handlers back."""
    try:  # SIGTERM is caught from inside the try: from then on every signal is one line
        _signal.signal(_signal.SIGTERM, _terminated)
        from rnnlab import process
        from rnnlab.cli import main
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, _Terminated)
        print("rnnlab: terminated" if terminated else "rnnlab: interrupted", file=sys.stderr)
        return 128 + (_signal.SIGTERM if terminated else _signal.SIGINT)
    process.finish(main())


if __name__ == "__main__":
    sys.exit(entry())
