"""What can stop an rnnlab command, each with the exit code the command line gives it.
Every one carries a message of one line a user can act on. No rnnlab imports: every
module can raise these, the CLI catches them all."""
import importlib.util


class UsageError(Exception):
    """Bad command-line input. Exit code 2."""


class RunDirError(RuntimeError):
    """A run folder cannot be used as asked (missing, not a run, in use, not writable);
    the message says what to do instead. Exit code 2."""


class CheckpointError(RuntimeError):
    """No checkpoint of a run can be used (none yet, all damaged, or not fitting the
    run's config.json). Exit code 2."""


class TrainingDiverged(RuntimeError):
    """The loss stopped being a finite number; the last good checkpoint is kept. Exit code 3."""


class WriteError(RuntimeError):
    """A file could not be written (a full disk, a read-only folder); what was written
    before stays as it was. Exit code 4, as for running out of memory."""


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was written where training stopped. Exit code
    128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, signum: int, run_dir: str, epoch: int, window: int):
        self.signum = signum
        super().__init__(f"interrupted at epoch {epoch}, window {window}; checkpoint written; "
                         f"continue with: rnnlab train --resume {run_dir}")


def require_tensorflow() -> None:
    """rnnlab leaves the choice of TensorFlow build to the user (pyproject.toml): without
    one, say how to get one (exit code 2), before anything is written."""
    if importlib.util.find_spec("tensorflow") is None:
        raise ModuleNotFoundError(
            "rnnlab needs TensorFlow, which is not installed: pip install tensorflow-cpu "
            "(NVIDIA GPUs on Linux: pip install 'tensorflow[and-cuda]'; macOS: pip install "
            "tensorflow)", name="tensorflow")


class ConfigError(ValueError):
    """A setting that cannot work; the message is one line a user can act on. Exit code 2."""
