"""One frozen dataclass holds every setting of a run; the CLI is generated from it.

The choices of --cell, --task and --gradient are the names in their tables (nn/cells.py,
data/tasks.py, nn/gradients.py), read without TensorFlow, so the CLI answers `--help`
and typos at once. What a task adds (its classes, its checks) comes from its table
entry; settings.py puts the config and the entries together and checks them, once.
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import time
import typing
from dataclasses import dataclass, field
from typing import Optional

from rnnlab.data.tasks import TASKS as _TASKS
from rnnlab.errors import ConfigError
from rnnlab.nn.cells import CELLS as _CELLS
from rnnlab.nn.gradients import GRADIENTS as _GRADIENTS
from rnnlab.nn.inits import INITS as _INITS

PLOT_MODES = ("auto", "live", "file", "none")
FLOAT32_MAX = 3.4028234663852886e38
CELLS = tuple(_CELLS)
TASKS = tuple(_TASKS)
GRADIENTS = tuple(_GRADIENTS)
INITS = tuple(_INITS)
OPTIMIZERS = ("adagrad", "sgd", "momentum", "rmsprop", "adam")
# Each optimizer's customary learning rate: Keras's defaults, the tutorial's for Adagrad.
DEFAULT_RATES = {"adagrad": 0.3, "sgd": 0.01, "momentum": 0.01, "rmsprop": 0.001,
                 "adam": 0.001}
HELD_OUT = 0.05  # the default --val-fraction and --test-fraction of a new text run
LAYOUTS = ("tutorial", "rows")
# The largest integer any setting may hold unless it says otherwise: past it, numbers
# lose their exactness in NumPy and TensorFlow (and no run has that many of anything).
MOST = 2**53


def _opt(default, help, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class TrainConfig:
    """The tutorial's experiment (docs/tutorial.md), its values as defaults."""

    epochs: int = _opt(100, "epochs; each draws a fresh series (text and words: reads its "
                       "file's training part again)")
    series_length: int = _opt(50000, "steps per epoch (bits, for the tutorial)")
    truncation: int = _opt(15, "steps per training window (gradients stop at its edges)")
    state_size: int = _opt(4, "hidden units")
    echo_step: int = _opt(3, "the task's lag: the echo step (echo: the target at t is the "
                          "input at t - echo_step), the copy delay (copy: the symbols come "
                          "back this many steps after they were shown), the episode length "
                          "(adding); also --copy-delay, --episode-length")
    batch_size: int = _opt(5, "parallel rows the series is cut into")
    learning_rate: Optional[float] = _opt(None, "learning rate (default: the optimizer's "
                                          "customary one: " + ", ".join(
                                              f"{k} {v}" for k, v in DEFAULT_RATES.items()) + ")")
    optimizer: str = _opt("adagrad", "adagrad (TF1's, the tutorial's), sgd, momentum (0.9), "
                          "rmsprop or adam (as Keras computes them)", choices=OPTIMIZERS)
    clip: Optional[float] = _opt(None, "clip gradients to this global norm (default: no clipping)")
    lr_decay: Optional[float] = _opt(None, "multiply the learning rate by this after an epoch "
                                     "whose validation loss (training loss, without a "
                                     "validation part) did not improve (default: never)")
    dropout: float = _opt(0.0, "dropout rate between stacked layers and before the output "
                          "layer, not on the recurrent connections; off in eval and sampling")
    embedding: Optional[int] = _opt(None, "a learned input embedding of this width instead of "
                                    "one-hot inputs (text, words, copy)")
    cell: str = _opt("vanilla", "recurrent cell: " + "; ".join(
        f"{c.name}: {c.help}" for c in _CELLS.values()), choices=CELLS)
    layers: int = _opt(1, "stacked recurrent layers", most=1000)
    gradient: str = _opt("tbptt", "how a window's gradients are computed: " + "; ".join(
        f"{g.name}: {g.help}" for g in _GRADIENTS.values()), choices=GRADIENTS)
    init: Optional[str] = _opt(None, "initial weights: " + "; ".join(
        f"{i.name}: {i.help}" for i in _INITS.values()) + " (default: tutorial for the "
        "vanilla cell on the echo task, orthogonal for text and words, else glorot)",
        choices=INITS)
    task: str = _opt("echo", "echo: the tutorial's; dependency: y depends on x 3 and 8 "
                     "steps back (R2RT); copy: recall 10 symbols; adding: sum the two marked "
                     "values of each episode; text: next character of --data; words: next "
                     "word of --data", choices=TASKS)
    data: Optional[str] = _opt(None, "UTF-8 text file for --task text or words (each epoch "
                               "reads its training part; --series-length is taken from it)")
    val_fraction: Optional[float] = _opt(None, f"text and words: the part of --data after the "
                                         f"training part held out for validation (default "
                                         f"{HELD_OUT})")
    test_fraction: Optional[float] = _opt(None, f"text and words: the last part of --data, "
                                          f"held out for `rnnlab eval` (default {HELD_OUT})")
    max_vocab: Optional[int] = _opt(None, "words: the most frequent words of the training "
                                    "part kept, the rest <unk> (default: all)")
    layout: str = _opt("tutorial", "tutorial: one series cut into rows (row r continues row "
                       "r-1); rows: each row its own series, every target predictable",
                       choices=LAYOUTS)
    stride: Optional[int] = _opt(None, "TBPTT(k1, k2): advance the state k1 = stride steps "
                                 "per update, backpropagate k2 = truncation steps "
                                 "(default: truncation, the tutorial's windows)")
    patience: Optional[int] = _opt(None, "stop after this many epochs in a row whose "
                                   "validation loss (training loss, without a validation "
                                   "part) did not improve (default: never stop early)")
    seed: Optional[int] = _opt(None, "seed of numpy's RandomState (default: drawn and recorded)")
    log_every: int = _opt(100, "windows between console lines and figure refreshes")
    quiet: bool = _opt(False, "one console line per epoch: no Step lines, no progress bar "
                       "(for scripts, logs and notebooks)")
    out: Optional[str] = _opt(None, "run folder (default runs/<date-time>)")
    plot: str = _opt("auto", "auto: live (a window where a display is available, in a "
                     "Jupyter notebook an image in the cell), else figure.png",
                     choices=PLOT_MODES)
    gif: Optional[str] = _opt(None, "also save an animation of training to this path")
    checkpoint_every: float = _opt(1.0, "seconds at least between epoch-end checkpoints "
                                   "(0: every epoch); the last epoch and an interrupt "
                                   "always checkpoint")
    num_classes: int = _opt(2, "outputs: 2 bit classes, the text's characters, or 1 number "
                            "(adding task)", cli=False)
    num_inputs: int = _opt(1, "input width: 1 bit, one-hot characters, or (value, marker)",
                           cli=False)
    data_bytes: Optional[int] = _opt(None, "the size of --data when the run began", cli=False)
    data_sha256: Optional[str] = _opt(None, "the SHA-256 of --data's bytes when the run began",
                                      cli=False)
    vocab: Optional[str] = _opt(None, "the text task's characters (words: the words, one a "
                                "line), in class order", cli=False)

    @property
    def row_length(self) -> int:
        return self.series_length // self.batch_size

    @property
    def step_size(self) -> int:
        """k1: steps the carried state advances per window (the stride, or truncation)."""
        return self.stride or self.truncation

    @property
    def rate(self) -> float:
        """The learning rate: the one set, or the optimizer's customary one."""
        return DEFAULT_RATES[self.optimizer] if self.learning_rate is None else self.learning_rate

    @property
    def num_windows(self) -> int:
        """Windows per epoch; the tail of each row shorter than a window is never used."""
        return (self.row_length - self.truncation) // self.step_size + 1

    @property
    def covered(self) -> int:
        """Steps of each row that the windows cover."""
        return (self.num_windows - 1) * self.step_size + self.truncation

    def flag_of(self, name: str) -> str:
        """The flag a user set `name` with: a task's own name for its lag (--copy-delay)."""
        task = _TASKS.get(self.task) if isinstance(self.task, str) else None
        if name == "echo_step" and task is not None and task.lag:
            return "--" + task.lag
        return "--" + flag(name)

    def check_settings(self) -> "TrainConfig":
        """Raise ConfigError naming the first setting that cannot work on its own: of the
        wrong kind, outside its bounds (every number has one), not one of its choices."""
        for f in dataclasses.fields(self):
            value, kind = getattr(self, f.name), setting_type(f)
            optional = f.default is None
            if (value is None and optional) or f.name in ("seed", "data_bytes"):
                continue
            most = f.metadata.get("most", MOST)
            if kind is int and not (_is_integer(value) and 1 <= value <= most):
                bound = "a positive integer" if most == MOST else f"an integer from 1 to {most}"
                if _is_integer(value) and value > most:
                    bound = f"at most {most:,}" if most == MOST else bound
                raise ConfigError(f"{self.flag_of(f.name)} must be {bound}, got {value!r}")
            if kind is bool and not isinstance(value, bool):
                raise ConfigError(f"--{flag(f.name)} must be true or false, got {value!r}")
            if kind is str and not isinstance(value, str):
                raise ConfigError(f"--{flag(f.name)} must be text, got {value!r}")
            allowed = f.metadata.get("choices")
            if allowed and value not in allowed:
                raise ConfigError(f"--{flag(f.name)} must be one of {', '.join(allowed)}, "
                                  f"got {value!r}")
        for name in ("learning_rate", "clip"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and 0 < value < float("inf")):
                raise ConfigError(f"--{flag(name)} must be a positive number, got {value!r}")
            if value is not None and value > FLOAT32_MAX:  # the compiled program's float32
                raise ConfigError(f"--{flag(name)} must be at most {FLOAT32_MAX:.3g} (float32's "
                                  f"largest number), got {value!r}")
        if self.lr_decay is not None and not (_is_number(self.lr_decay) and 0 < self.lr_decay <= 1):
            raise ConfigError(f"--lr-decay must be a number in (0, 1], got {self.lr_decay!r}")
        if not (_is_number(self.dropout) and 0 <= self.dropout < 1):
            raise ConfigError(f"--dropout must be a number in [0, 1), got {self.dropout!r}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and 0 <= value < 0.5):
                raise ConfigError(f"--{flag(name)} must be a number in [0, 0.5), got {value!r}")
        if self.data_bytes is not None and not (_is_integer(self.data_bytes)
                                                and 0 <= self.data_bytes <= MOST):
            raise ConfigError(f"data_bytes must be a size in bytes, got {self.data_bytes!r}")
        if self.max_vocab is not None and self.max_vocab < 2:
            raise ConfigError(f"--max-vocab must be at least 2 (a word and <unk>), "
                              f"got {self.max_vocab}")
        if not (_is_number(self.checkpoint_every) and 0 <= self.checkpoint_every < float("inf")):
            raise ConfigError(f"--checkpoint-every must be a number of seconds >= 0, "
                              f"got {self.checkpoint_every!r}")
        if self.seed is not None and not (_is_integer(self.seed) and 0 <= self.seed < 2**32):
            raise ConfigError(f"--seed must be in [0, 2**32), got {self.seed}")
        if self.out is not None and not self.out.strip():
            raise ConfigError("--out must name a folder, got an empty string")
        for name in ("out", "gif", "data"):
            check_utf8_path(getattr(self, name), "--" + name)
        if self.gif is not None and not self.gif.lower().endswith(".gif"):
            raise ConfigError(f"--gif must name a .gif file, got {self.gif!r}")
        return self

    def validate(self) -> "TrainConfig":
        """check_settings, then check_together."""
        return self.check_settings().check_together()

    def check_together(self) -> "TrainConfig":
        """Raise ConfigError naming the first settings that do not fit together (what the
        task asks besides is its table entry's `check`)."""
        if self.series_length % self.batch_size:
            raise ConfigError(f"--series-length {self.series_length} is not divisible by "
                              f"--batch-size {self.batch_size}")
        if self.truncation > self.row_length:
            raise ConfigError(f"--truncation {self.truncation} is longer than a row "
                              f"({self.series_length} / {self.batch_size} = {self.row_length} steps)")
        if self.echo_step >= self.row_length:
            raise ConfigError(f"--echo-step {self.echo_step} is not shorter than a row "
                              f"({self.row_length} steps)")
        if self.stride is not None and not self.stride <= self.truncation:
            raise ConfigError(f"--stride must be an integer from 1 to --truncation "
                              f"({self.truncation}), got {self.stride!r}")
        return self

    def with_run_defaults(self) -> "TrainConfig":
        """The optimizer's customary learning rate, a drawn seed (recorded in
        config.json) and the run folder runs/<date-time>, where the user gave none."""
        config = self
        if config.learning_rate is None:  # recorded, as the seed is
            config = config.replace(learning_rate=config.rate)
        if config.seed is None:
            config = config.replace(seed=secrets.randbelow(2**32))
        if config.out is None:
            config = config.replace(out=os.path.join("runs", time.strftime("%Y%m%d-%H%M%S")))
        return config

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        """The config a run folder's config.json holds, unchecked (settings.checked
        checks it): ValueError when it is not an object of settings (a hand-edited or
        damaged file). Unknown keys are ignored, missing ones take their defaults."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"it holds {type(data).__name__}, not an object of settings")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def setting_type(f: dataclasses.Field) -> type:
    """int, float, str or bool: what a TrainConfig field holds (Optional[...] unwrapped)."""
    kind = typing.get_type_hints(TrainConfig)[f.name]
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if args else kind


def count(n: int, noun: str) -> str:
    """'1 seed', '3 seeds', '1,000 points': a number and its noun, as a line says it."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def flag(name: str) -> str:
    return name.replace("_", "-")


def cli_fields():
    """(field, flag) for each setting the command line exposes."""
    return [(f, "--" + flag(f.name)) for f in dataclasses.fields(TrainConfig)
            if f.metadata.get("cli", True)]


# How a run is shown and saved: never what it computes. A sweep shows and saves nothing.
SHOWN_AND_SAVED = ("plot", "gif", "checkpoint_every", "log_every", "quiet")
# What a sweep may not vary: where a run goes, how it is shown and saved, the seed
# (--seeds gives each point its seeds), and the data of a text run.
NOT_SWEPT = ("out", "seed", "data", "patience") + SHOWN_AND_SAVED
# Populations (nn/population.py): networks that differ only in these settings have arrays
# of the same shapes and train together; every other setting must agree.
MEMBER_SETTINGS = ("seed", "learning_rate", "echo_step", "init")


def shape_key(config: TrainConfig) -> tuple:
    """Configs with equal keys can train in one population."""
    return tuple(sorted((k, v) for k, v in config.__dict__.items()
                        if k not in MEMBER_SETTINGS + ("out", "plot", "gif")))


def check_utf8_path(path: str | None, what: str) -> None:
    """ConfigError for a path whose name holds bytes that are not UTF-8 (the command
    line hands them over as they are): TensorFlow writes and reads files only under
    names it can encode so."""
    if path is None:
        return
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # its bytes as \\xff escapes
        raise ConfigError(f"{what} '{shown}' holds bytes that are not UTF-8; TensorFlow's "
                          f"files need names in UTF-8: rename it") from None


def check_writable_parent(path: str, what: str) -> None:
    """Fail early, before any training, when `path` could not be created."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path!r} cannot be written: {parent!r} is not a writable folder")
