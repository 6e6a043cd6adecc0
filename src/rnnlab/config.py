"""One frozen dataclass holds every setting of a run; the CLI is generated from it.

Importing this module must stay cheap: no TensorFlow, no NumPy.
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Optional

PLOT_MODES = ("auto", "live", "file", "none")
CELLS = ("vanilla", "lstm", "gru", "keras-simple", "keras-lstm", "keras-gru")
INITS = ("tutorial", "glorot")
TASKS = ("echo", "dependency", "copy", "adding", "text")
LAYOUTS = ("tutorial", "rows")


class ConfigError(ValueError):
    """A setting that cannot work; the message is one line a user can act on."""


def _opt(default, help, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class TrainConfig:
    """The tutorial's experiment (SPEC.md), its values as defaults."""

    epochs: int = _opt(100, "epochs; each draws a fresh series")
    series_length: int = _opt(50000, "bits per epoch")
    truncation: int = _opt(15, "steps per training window (gradients stop at its edges)")
    state_size: int = _opt(4, "hidden units")
    echo_step: int = _opt(3, "the target at t is the input at t - echo_step (copy task: "
                          "the symbols come back echo_step steps after they were shown; adding task: "
                          "the episode's length)")
    batch_size: int = _opt(5, "parallel rows the series is cut into")
    learning_rate: float = _opt(0.3, "Adagrad learning rate")
    cell: str = _opt("vanilla", "recurrent cell: from scratch (vanilla, lstm, gru) or "
                     "Keras's own (keras-simple, keras-lstm, keras-gru)", choices=CELLS)
    layers: int = _opt(1, "stacked recurrent layers")
    init: Optional[str] = _opt(None, "initial weights: tutorial (uniform [0, 1)) or glorot "
                               "(default: tutorial for the vanilla cell on the echo task, "
                               "else glorot)", choices=INITS)
    task: str = _opt("echo", "echo: the tutorial's; dependency: y depends on x 3 and 8 "
                     "steps back (R2RT); copy: recall 10 symbols; adding: sum the two marked "
                     "values of each episode; text: next character of --data", choices=TASKS)
    data: Optional[str] = _opt(None, "UTF-8 text file for --task text (each epoch reads it "
                               "all; --series-length is taken from it)")
    layout: str = _opt("tutorial", "tutorial: one series cut into rows (row r continues row "
                       "r-1); rows: each row its own series, every target predictable",
                       choices=LAYOUTS)
    stride: Optional[int] = _opt(None, "TBPTT(k1, k2): advance the state k1 = stride steps "
                                 "per update, backpropagate k2 = truncation steps "
                                 "(default: truncation, the tutorial's windows)")
    seed: Optional[int] = _opt(None, "seed of numpy's RandomState (default: drawn and recorded)")
    log_every: int = _opt(100, "windows between console lines and figure refreshes")
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
    vocab: Optional[str] = _opt(None, "the text task's characters, in class order", cli=False)

    @property
    def row_length(self) -> int:
        return self.series_length // self.batch_size

    @property
    def step_size(self) -> int:
        """k1: steps the carried state advances per window (the stride, or truncation)."""
        return self.stride or self.truncation

    @property
    def regression(self) -> bool:
        """The adding task predicts a number (squared error) where the others predict a class."""
        return self.task == "adding"

    @property
    def num_windows(self) -> int:
        """Windows per epoch; the tail of each row shorter than a window is never used."""
        return (self.row_length - self.truncation) // self.step_size + 1

    def validate(self) -> "TrainConfig":
        """Raise ConfigError naming the first setting that cannot work."""
        for name in ("epochs", "series_length", "truncation", "state_size",
                     "echo_step", "batch_size", "log_every", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"--{_flag(name)} must be a positive integer, got {value!r}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0
                and self.learning_rate != float("inf")):
            raise ConfigError(f"--learning-rate must be a positive number, got {self.learning_rate!r}")
        if not (isinstance(self.checkpoint_every, (int, float)) and 0 <= self.checkpoint_every < float("inf")):
            raise ConfigError(f"--checkpoint-every must be a number of seconds >= 0, "
                              f"got {self.checkpoint_every!r}")
        if self.seed is not None and not (0 <= self.seed < 2**32):
            raise ConfigError(f"--seed must be in [0, 2**32), got {self.seed}")
        if self.series_length % self.batch_size:
            raise ConfigError(f"--series-length {self.series_length} is not divisible by "
                              f"--batch-size {self.batch_size}")
        if self.truncation > self.row_length:
            raise ConfigError(f"--truncation {self.truncation} is longer than a row "
                              f"({self.series_length} / {self.batch_size} = {self.row_length} steps)")
        if self.echo_step >= self.row_length:
            raise ConfigError(f"--echo-step {self.echo_step} is not shorter than a row "
                              f"({self.row_length} steps)")
        for name, allowed in (("plot", PLOT_MODES), ("cell", CELLS), ("task", TASKS),
                              ("layout", LAYOUTS), ("init", INITS + (None,))):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"--{name} must be one of "
                                  f"{', '.join(a for a in allowed if a)}, got {getattr(self, name)!r}")
        if self.task == "copy" and not (10 < self.echo_step and
                                        self.echo_step + 10 <= self.row_length):
            raise ConfigError(f"--task copy needs --echo-step above 10 (the 10 symbols come "
                              f"back echo-step steps later) and an episode (echo-step + 10 "
                              f"steps) within a row of {self.row_length}, got {self.echo_step}")
        if self.task == "adding" and self.echo_step < 2:
            raise ConfigError(f"--task adding needs --echo-step (the episode length) of at "
                              f"least 2, one marked value in each half, got {self.echo_step}")
        if self.task == "text" and not self.data:
            raise ConfigError("--task text needs --data FILE (a UTF-8 text file)")
        if self.data and self.task != "text":
            raise ConfigError(f"--data is for --task text, not --task {self.task}")
        if self.stride is not None and not (isinstance(self.stride, int) and
                                            1 <= self.stride <= self.truncation):
            raise ConfigError(f"--stride must be an integer from 1 to --truncation "
                              f"({self.truncation}), got {self.stride!r}")
        covered = (self.num_windows - 1) * self.step_size + self.truncation
        if self.task == "adding" and self.echo_step > covered:
            raise ConfigError(f"--task adding: an episode of --echo-step {self.echo_step} steps "
                              f"ends past the {covered} steps of a row that the windows cover")
        if self.out is not None and not self.out.strip():
            raise ConfigError("--out must name a folder, got an empty string")
        if self.gif is not None and not self.gif.lower().endswith(".gif"):
            raise ConfigError(f"--gif must name a .gif file, got {self.gif!r}")
        return self

    def resolved(self) -> "TrainConfig":
        """Fill in what the user left open: the initialisation, what a text file fixes
        (characters, series length), a drawn seed (recorded in config.json) and the run
        folder runs/<date-time>."""
        config = self
        if config.init is None:
            tutorial = config.cell == "vanilla" and config.task == "echo"
            config = config.replace(init="tutorial" if tutorial else "glorot")
        if config.task == "copy" and config.vocab is None:
            from rnnlab.tasks import COPY_VOCAB

            config = config.replace(vocab=COPY_VOCAB, num_classes=len(COPY_VOCAB),
                                    num_inputs=len(COPY_VOCAB))
        if config.task == "adding":
            config = config.replace(num_classes=1, num_inputs=2)
        sizes_ok = all(isinstance(v, int) and v > 0 for v in (self.batch_size, self.truncation))
        if config.task == "text" and config.data and config.vocab is None and sizes_ok:
            from rnnlab.tasks import read_text, text_settings

            config = config.replace(**text_settings(read_text(config.data), config.batch_size,
                                                    config.truncation, config.data))
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
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# Populations (population.py): networks that differ only in these settings have arrays
# of the same shapes and train together; every other setting must agree.
MEMBER_SETTINGS = ("seed", "learning_rate", "echo_step", "init")
POPULATION_CELLS = ("vanilla", "lstm", "gru")


def check_population_settings(config: TrainConfig) -> None:
    """ConfigError unless `config` can be a population member (so a sweep point)."""
    if config.cell not in POPULATION_CELLS or config.task == "text":
        raise ConfigError(f"sweeps train the from-scratch cells ({', '.join(POPULATION_CELLS)}) "
                          f"on the synthetic tasks; got --cell {config.cell} --task {config.task}")


def shape_key(config: TrainConfig) -> tuple:
    """Configs with equal keys can train in one population."""
    return tuple(sorted((k, v) for k, v in config.__dict__.items()
                        if k not in MEMBER_SETTINGS + ("out", "plot", "gif")))


def _flag(name: str) -> str:
    return name.replace("_", "-")


def cli_fields():
    """(field, flag) for each setting the command line exposes."""
    return [(f, "--" + _flag(f.name)) for f in dataclasses.fields(TrainConfig)
            if f.metadata.get("cli", True)]


def check_writable_parent(path: str, what: str) -> None:
    """Fail early, before any training, when `path` could not be created."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path!r} cannot be written: {parent!r} is not a writable folder")
