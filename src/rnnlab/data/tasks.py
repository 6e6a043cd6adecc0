"""The tasks, one table: what each feeds the network and asks back, how its series is
drawn, what a baseline scores, which targets can be predicted, what its figure shows.

The rest of rnnlab asks the task (`TASKS[config.task]`, or a run's `settings.task`)
instead of testing its name. No I/O: the series are drawn by series.py, and text is
read by corpus.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab.data import series
from rnnlab.data.corpus import text_settings
from rnnlab.errors import ConfigError


@dataclass
class Stretch:
    """A stretch of a task's data, as a model reads it: `rows` rows side by side, each one
    contiguous (text: its part cut into that many pieces, one after the other)."""

    x: np.ndarray            # [rows, L] input symbols (adding: [rows, L, 2] value, marker)
    y: np.ndarray            # [rows, L] targets (adding: sums, NaN where none)
    part: str                # "fresh" (drawn from a seed), or a text's "train", "val", "test"
    predictable: np.ndarray  # [rows, L] True where the target follows from inputs the row saw


class Task:
    """What every task answers; each task below changes what differs."""

    name = ""
    lag = None          # what echo_step means for it (its flag alias, e.g. "copy-delay"), if anything
    inputs = "bit"      # "bit": one number per step; "symbols": one-hot over its classes;
                        # "channels": `num_inputs` numbers per step, as they are
    regression = False  # one number out, squared error (else classes, cross-entropy)
    synthetic = True    # fresh data drawn from the seed every epoch (else a file's text)
    panels = "bits"     # the figure's rows: "bits", "probabilities", "characters", "sums"
    noun = "bits"       # what eval counts
    reads_bits = False  # `rnnlab predict` takes a stream of bits for it
    writes_text = False  # `rnnlab sample` writes text with it
    word_level = False  # its symbols are words: a vocabulary from the data, --max-vocab
    tutorial = False    # the tutorial's task: the tutorial's cell takes the tutorial's --init
    init = "glorot"     # --init where none is given (nn/inits.py; a scan cell: its paper's)
    tolerance = None    # a regression: how near the target a prediction counts as right
    rows_follow = False  # --layout applies: its rows can continue each other (the tutorial's)
    note = {}           # why a setting means nothing to it, where the name alone won't say
    fixes = ()          # settings it fills in itself (`settings`) that a user may not set

    def ignores(self) -> tuple:
        """The settings that mean nothing to this task, so that a run may not set them."""
        return tuple(name for name, ignored in (
            ("echo_step", self.lag is None), ("data", self.synthetic),
            ("val_fraction", self.synthetic), ("test_fraction", self.synthetic),
            ("series_length", not self.synthetic), ("max_vocab", not self.word_level),
            ("embedding", self.inputs != "symbols"), ("layout", not self.rows_follow))
            if ignored)

    def settings(self, config, text: str | None = None) -> dict:
        """What the task fixes of a config: classes, inputs, and the like."""
        return {"num_classes": 2, "num_inputs": 1}

    def check(self, config) -> None:
        """ConfigError naming what the task cannot do with `config`."""

    def series(self, rng: np.random.RandomState, config, corpus=None):
        """One epoch's (x, y), each [batch, row_length] (adding: x [batch, row, 2])."""
        raise NotImplementedError

    def stretch(self, config, part: str = "fresh", corpus=None, seed: int = 0,
                rows: int | None = None, length: int | None = None,
                layout: str | None = None) -> Stretch:
        """Fresh data drawn from `seed` as the run's epochs are (`rows` rows of `length`
        steps; by default the run's batch and row; `layout` the run's unless given)."""
        rows, layout = rows or config.batch_size, layout or config.layout
        fresh = config.replace(series_length=rows * (length or config.row_length),
                               batch_size=rows, layout=layout, seed=seed)
        x, y = self.series(np.random.RandomState(seed), fresh)
        return Stretch(x, y, "fresh", self.predictable(fresh, y.shape))

    def baseline_note(self, config) -> str:
        """What the epoch summary prints beside the loss, so a reader can place it."""
        return ""

    def predictable(self, config, shape) -> np.ndarray:
        """[batch, L] True where a target can be predicted from inputs the row has seen."""
        return np.ones(shape, bool)

    def truth(self, x: np.ndarray, config) -> np.ndarray | None:
        """The true P(y = 1) at every step of x, where the task knows it (its figure
        draws it beside the model's)."""
        return None


class Echo(Task):
    """The tutorial's: the target at t is the input at t - echo_step."""

    name, lag, reads_bits, tutorial, rows_follow = "echo", "echo-step", True, True, True

    def series(self, rng, config, corpus=None):
        if config.layout == "tutorial":
            return series.echo_series(rng, config.series_length, config.echo_step,
                                      config.batch_size)
        x = series.random_bits(rng, (config.batch_size, config.row_length))
        return x, series.shift(x, config.echo_step)

    def predictable(self, config, shape) -> np.ndarray:
        """The tutorial's layout rolls the series before cutting it into rows: the first
        echo_step targets of every row are the previous row's last inputs (row 0: the
        roll's zeros, which only an always-0 guess gets right), never seen by this row."""
        mask = np.ones(shape, bool)
        if config.layout == "tutorial":
            mask[:, :config.echo_step] = False
        return mask


class Dependency(Task):
    """R2RT's toy: P(y_t = 1) = 0.5 + 0.5 x_{t-3} - 0.25 x_{t-8}."""

    name, panels, reads_bits, rows_follow = "dependency", "probabilities", True, True
    note = {"echo_step": "its lags are fixed: 3 and 8"}

    def series(self, rng, config, corpus=None):
        # The tutorial layout draws one series and cuts it into rows that continue
        # each other; "rows" makes each row its own.
        shape = ((config.series_length,) if config.layout == "tutorial"
                 else (config.batch_size, config.row_length))
        x = series.random_bits(rng, shape)
        y = series.dependency_targets(rng, x)
        return x.reshape((config.batch_size, -1)), y.reshape((config.batch_size, -1))

    def baseline_note(self, config) -> str:
        b = series.dependency_baselines()
        return (f" (expected loss learning neither dependency {b['neither']:.4f}, "
                f"the first {b['first']:.4f}, both {b['both']:.4f})")

    def truth(self, x, config):
        flat = x.reshape(1, -1) if config.layout == "tutorial" else x
        return series.dependency_probability(flat).reshape(x.shape)


class Copy(Task):
    """Copy memory: ten symbols shown, to be given back echo_step steps later."""

    name, lag, inputs, panels, noun = "copy", "copy-delay", "symbols", "characters", "symbols"

    def settings(self, config, text=None) -> dict:
        vocab = series.COPY_VOCAB
        return {"vocab": vocab, "num_classes": len(vocab), "num_inputs": len(vocab)}

    def check(self, config) -> None:
        super().check(config)
        if not (series.COPY_SYMBOLS < config.echo_step and
                config.echo_step + series.COPY_SYMBOLS <= config.row_length):
            raise ConfigError(f"--task copy needs --copy-delay (or --echo-step) above 10 (the 10 symbols come "
                              f"back that many steps after they were shown) and an episode "
                              f"(copy delay + 10 steps) within a row of {config.row_length}, "
                              f"got {config.echo_step}")

    def series(self, rng, config, corpus=None):
        return series.copy_series(rng, config.batch_size, config.row_length, config.echo_step)

    def baseline_note(self, config) -> str:
        return f" (remembering nothing: {series.copy_baseline(config.echo_step):.4f})"


class Adding(Task):
    """The adding problem: the sum of the two marked values of each episode."""

    name, lag, inputs, regression = "adding", "episode-length", "channels", True
    panels, noun, tolerance = "sums", "sums", series.ADDING_TOLERANCE

    def settings(self, config, text=None) -> dict:
        return {"num_classes": 1, "num_inputs": 2}

    def check(self, config) -> None:
        super().check(config)
        if config.echo_step < 2:
            raise ConfigError(f"--task adding needs --episode-length (or --echo-step) of at least 2, one "
                              f"marked value in each half, got {config.echo_step}")
        if config.echo_step > config.covered:
            raise ConfigError(f"--task adding: an episode of --episode-length "
                              f"{config.echo_step} steps ends past the {config.covered} steps "
                              f"of a row that the windows cover")

    def series(self, rng, config, corpus=None):
        return series.adding_series(rng, config.batch_size, config.row_length, config.echo_step)

    def baseline_note(self, config) -> str:
        return f" (always answering 1: {series.adding_baseline():.4f})"


class Text(Task):
    """The next character of a UTF-8 file (--data): its training part, every epoch."""

    name, inputs, synthetic, panels, noun = "text", "symbols", False, "characters", "characters"
    note = {"series_length": "an epoch is the whole training part of --data; --val-fraction "
                             "and --test-fraction set how much is held out",
            "layout": "each row is one part of the text, and rows follow each other"}
    fixes = ("series_length",)
    init = "orthogonal"  # Keras's: per epoch it learns as Keras's LSTM, ahead of glorot and
                         # PyTorch's uniform (README, Real text, held out)
    writes_text = True

    def settings(self, config, text=None) -> dict:
        return text_settings(text, config, self.word_level)

    def check(self, config) -> None:
        if not config.data:
            raise ConfigError(f"--task {self.name} needs --data FILE (a UTF-8 text file)")
        if not config.vocab:
            raise ConfigError(f"a {self.name} run needs its symbols (vocab), got none")

    def series(self, rng, config, corpus=None):
        ids, n, rows = corpus["train"], config.series_length, config.batch_size
        return ids[:n].reshape((rows, -1)), ids[1:n + 1].reshape((rows, -1))

    def stretch(self, config, part: str = "test", corpus=None, seed: int = 0,
                rows: int | None = None, length: int | None = None,
                layout: str | None = None) -> Stretch:
        """A part of the file (corpus: corpus.load_corpus's parts), cut into `rows`
        (default: the run's batch) rows that follow each other, each symbol's target
        the next; `length` keeps the first steps of each row."""
        ids, rows = corpus[part], rows or config.batch_size
        n = (len(ids) - 1) // rows * rows
        x, y = ids[:n].reshape(rows, -1), ids[1:n + 1].reshape(rows, -1)
        if length is not None:
            x, y = x[:, :length], y[:, :length]
        return Stretch(x, y, part, np.ones(y.shape, bool))


class Words(Text):
    """The next word of a UTF-8 file, as word_language_model reads one: whitespace-
    separated words and <eos> at each line's end; the training part's words (the most
    frequent --max-vocab), <unk> for the rest."""

    name, panels, noun, word_level = "words", "words", "words", True


TASKS = {task.name: task for task in (Echo(), Dependency(), Copy(), Adding(), Text(), Words())}


def check_held_out(config) -> None:
    """Held-out parts, embeddings and vocabulary sizes where a task can have them."""
    task = TASKS[config.task]
    for name in ("val_fraction", "test_fraction"):
        if getattr(config, name) is not None and task.synthetic:
            raise ConfigError(f"--{name.replace('_', '-')} is for --task text or words (the "
                              f"other tasks draw fresh data: rnnlab eval measures on it)")
    if config.embedding is not None and task.inputs != "symbols":
        raise ConfigError(f"--embedding is for tasks whose inputs are symbols (text, words, "
                          f"copy), not --task {config.task}")
    if config.max_vocab is not None and not task.word_level:
        raise ConfigError("--max-vocab is for --task words")
