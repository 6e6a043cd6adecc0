"""Pure data functions: a task draws (x, y) from the generator it is given. No TensorFlow."""
from __future__ import annotations

import numpy as np

from rnnlab.config import ConfigError


def echo_series(rng: np.random.RandomState, series_length: int, echo_step: int,
                batch_size: int):
    """The tutorial's `generateData()`, drawing from `rng` instead of the global stream.

    Returns x, y: int64 [batch_size, series_length // batch_size]. The roll happens before
    the reshape, so row r starts with the last `echo_step` inputs of row r - 1 as targets.
    """
    x = np.array(rng.choice(2, series_length, p=[0.5, 0.5]))
    y = np.roll(x, echo_step)
    y[0:echo_step] = 0
    return x.reshape((batch_size, -1)), y.reshape((batch_size, -1))


def to_windows(a: np.ndarray, truncation: int, stride: int | None = None) -> np.ndarray:
    """[batch, row, ...] -> [num_windows, batch, truncation, ...]: window i starts at step
    i * stride (default: truncation, the tutorial's non-overlapping windows); the tail
    shorter than a window is dropped. Trailing axes (the adding task's two input
    channels) ride along."""
    stride = stride or truncation
    windows = np.lib.stride_tricks.sliding_window_view(a, truncation, axis=1)[:, ::stride]
    # sliding_window_view puts the window's steps last: [batch, n, ..., truncation]
    windows = np.moveaxis(windows, -1, 2)
    return np.ascontiguousarray(np.moveaxis(windows, 1, 0))


def shift(x: np.ndarray, steps: int) -> np.ndarray:
    """x delayed by `steps` along its last axis, zeros before the start."""
    out = np.zeros_like(x)
    out[..., steps:] = x[..., :-steps]
    return out


# The dependency task (R2RT, "Recurrent neural networks in TensorFlow I"):
# P(y_t = 1) = 0.5 + 0.5 x_{t-3} - 0.25 x_{t-8}.
DEPENDENCIES = ((3, 0.5), (8, -0.25))


def dependency_probability(x: np.ndarray) -> np.ndarray:
    return 0.5 + sum(weight * shift(x, lag) for lag, weight in DEPENDENCIES)


def dependency_baselines() -> dict:
    """Expected cross-entropy (nats) of a model that knows neither dependency, only the
    first (x_{t-3}), or both: the entropy of y given what it knows, averaged over inputs."""
    def entropy(p):
        return float(-(p * np.log(p) + (1 - p) * np.log(1 - p))) if 0 < p < 1 else 0.0

    cases = [(a, b) for a in (0, 1) for b in (0, 1)]  # (x_{t-3}, x_{t-8}), each 1/4
    p = {c: 0.5 + DEPENDENCIES[0][1] * c[0] + DEPENDENCIES[1][1] * c[1] for c in cases}
    neither = entropy(np.mean(list(p.values())))
    first = np.mean([entropy(np.mean([p[(a, b)] for b in (0, 1)])) for a in (0, 1)])
    both = np.mean([entropy(p[c]) for c in cases])
    return {"neither": neither, "first": float(first), "both": float(both)}


# The copy-memory task: each episode shows COPY_SYMBOLS symbols (1..8), then blanks; a
# cue (9) one step before the recall; the symbols must come back `lag` steps after they
# were shown. Characters for the figure: blank, the eight symbols, the cue.
COPY_SYMBOLS = 10
COPY_VOCAB = "_12345678>"


def copy_series(rng: np.random.RandomState, batch_size: int, row_length: int, lag: int):
    """[batch, row_length] inputs and targets: episodes of lag + COPY_SYMBOLS steps back
    to back in each row (the tail too short for one stays blank)."""
    length = lag + COPY_SYMBOLS
    episodes = row_length // length
    symbols = rng.randint(1, 9, (batch_size, episodes, COPY_SYMBOLS))
    x = np.zeros((batch_size, episodes, length), np.int64)
    y = np.zeros_like(x)
    x[:, :, :COPY_SYMBOLS] = symbols
    x[:, :, lag - 1] = len(COPY_VOCAB) - 1
    y[:, :, lag:] = symbols
    pad = np.zeros((batch_size, row_length - episodes * length), np.int64)
    return (np.concatenate([x.reshape(batch_size, -1), pad], axis=1),
            np.concatenate([y.reshape(batch_size, -1), pad], axis=1))


def copy_baseline(lag: int) -> float:
    """Cross-entropy of a model that knows the episode's shape but remembers nothing:
    blanks are certain, each recalled symbol a guess among 8."""
    return COPY_SYMBOLS * np.log(8) / (lag + COPY_SYMBOLS)


# The adding problem (Hochreiter & Schmidhuber 1997; in the form of Le et al. 2015):
# each step shows a value from U[0, 1) and a marker; in an episode of `length` steps two
# values are marked, one in each half; at the episode's last step the target is their sum.
# Only that step is scored (squared error); elsewhere the target is NaN, "nothing to say".
ADDING_TOLERANCE = 0.04  # a prediction within this of the sum counts as correct


def adding_series(rng: np.random.RandomState, batch_size: int, row_length: int, length: int):
    """x: float32 [batch, row_length, 2] (value, marker), y: float32 [batch, row_length],
    NaN except at each episode's last step; episodes of `length` steps back to back (the
    tail too short for one has no target)."""
    episodes = row_length // length
    values = rng.rand(batch_size, row_length).astype(np.float32)
    markers = np.zeros((batch_size, row_length), np.float32)
    y = np.full((batch_size, row_length), np.nan, np.float32)
    half = length // 2
    starts = np.arange(episodes) * length
    first = starts + rng.randint(0, half, (batch_size, episodes))
    second = starts + rng.randint(half, length, (batch_size, episodes))
    rows = np.arange(batch_size)[:, None]
    markers[rows, first] = markers[rows, second] = 1.0
    y[:, starts + length - 1] = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), y


def adding_baseline() -> float:
    """Mean squared error of always answering 1, the sum's mean: the variance of the sum
    of two U[0, 1) values, 2/12."""
    return 1.0 / 6.0


def baseline_note(task: str, echo_step: int = 3) -> str:
    """What the epoch summary prints beside the loss, so a reader can place it."""
    if task == "adding":
        return f" (always answering 1: {adding_baseline():.4f})"
    if task == "copy":
        return f" (remembering nothing: {copy_baseline(echo_step):.4f})"
    if task != "dependency":
        return ""
    b = dependency_baselines()
    return (f" (expected loss learning neither dependency {b['neither']:.4f}, "
            f"the first {b['first']:.4f}, both {b['both']:.4f})")


class TextError(ConfigError):
    """A text file that cannot serve as training data; the message says why."""


def read_text(path: str) -> str:
    """The whole of a UTF-8 text file, or TextError naming the problem."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise TextError(f"--data {path!r} does not exist") from None
    except IsADirectoryError:
        raise TextError(f"--data {path!r} is a folder, not a text file") from None
    except OSError as err:
        raise TextError(f"--data {path!r} cannot be read ({err.strerror})") from None
    if not raw:
        raise TextError(f"--data {path!r} is empty")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TextError(f"--data {path!r} is not UTF-8 text (byte {err.start} is not)") from None


def text_settings(text: str, batch_size: int, truncation: int, path: str) -> dict:
    """What the text task fixes from its file: the characters, the series length."""
    series_length = (len(text) - 1) // batch_size * batch_size
    if series_length // batch_size < truncation:
        raise TextError(f"--data {path!r} is too short: {len(text)} characters make "
                        f"{batch_size} rows of {series_length // batch_size}, shorter than one "
                        f"window (--truncation {truncation})")
    vocab = "".join(sorted(set(text)))
    return {"vocab": vocab, "num_classes": len(vocab), "num_inputs": len(vocab),
            "series_length": series_length}


def encode_text(text: str, vocab: str) -> np.ndarray:
    """Characters -> class ids; a character outside `vocab` is a TextError naming it."""
    index = {c: i for i, c in enumerate(vocab)}
    for position, char in enumerate(text):
        if char not in index:
            raise TextError(f"character {char!r} at position {position} is not in the "
                            f"model's {len(vocab)} characters")
    return np.array([index[c] for c in text], dtype=np.int64)


def load_corpus(config) -> np.ndarray:
    """The text task's characters as ids, checked against what the run was set up with."""
    text = read_text(config.data)
    if text_settings(text, config.batch_size, config.truncation, config.data) != {
            "vocab": config.vocab, "num_classes": config.num_classes,
            "num_inputs": config.num_inputs, "series_length": config.series_length}:
        raise TextError(f"--data {config.data!r} has changed since the run began")
    return encode_text(text, config.vocab)


def make_series(rng: np.random.RandomState, task: str, layout: str, series_length: int,
                echo_step: int, batch_size: int, text_ids: np.ndarray | None = None):
    """One epoch's (x, y), [batch, series_length // batch] each, for `task`.

    layout "tutorial" draws one series and cuts it into rows, as the tutorial does;
    "rows" makes each row a series of its own, so no target depends on unseen inputs.
    The text task reads the same characters every epoch: x a character, y the next.
    """
    if task == "text":
        return (text_ids[:series_length].reshape((batch_size, -1)),
                text_ids[1:series_length + 1].reshape((batch_size, -1)))
    if task == "copy":
        return copy_series(rng, batch_size, series_length // batch_size, echo_step)
    if task == "adding":
        return adding_series(rng, batch_size, series_length // batch_size, echo_step)
    if task == "echo" and layout == "tutorial":
        return echo_series(rng, series_length, echo_step, batch_size)
    shape = (batch_size, series_length // batch_size) if layout == "rows" else (series_length,)
    x = np.array(rng.choice(2, shape, p=[0.5, 0.5]))
    if task == "echo":
        y = shift(x, echo_step)
    else:
        y = (rng.rand(*shape) < dependency_probability(x)).astype(x.dtype)
    return x.reshape((batch_size, -1)), y.reshape((batch_size, -1))


def unpredictable_mask(batch_size: int, row_length: int, echo_step: int) -> np.ndarray:
    """True where a target cannot be predicted from the inputs the network has seen.

    The first `echo_step` targets of every row are the zeros of the roll (row 0) or the
    previous row's last inputs (rows 1..), which this row's network never sees; row 0's
    zeros are predictable only by always guessing 0, so they count as unpredictable too.
    """
    mask = np.zeros((batch_size, row_length), dtype=bool)
    mask[:, :echo_step] = True
    return mask


def parse_bits(text: str) -> np.ndarray:
    """'0110 1...' -> int array; whitespace is ignored, anything else is an error."""
    bits = []
    for position, char in enumerate(text):
        if char in "01":
            bits.append(char == "1")
        elif not char.isspace():
            raise ValueError(f"character {char!r} at position {position} is not a bit (0 or 1)")
    if not bits:
        raise ValueError("no bits given")
    return np.array(bits, dtype=np.int64)
