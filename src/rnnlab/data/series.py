"""Pure data functions: each draws a task's (x, y) from the generator it is given, and
nothing else (no files, no TensorFlow). The task table (tasks.py) says which to call."""
from __future__ import annotations

import numpy as np


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


def random_bits(rng: np.random.RandomState, shape) -> np.ndarray:
    """Fair bits, drawn as the tutorial draws them."""
    return np.array(rng.choice(2, shape, p=[0.5, 0.5]))


def shift(x: np.ndarray, steps: int) -> np.ndarray:
    """x delayed by `steps` along its last axis, zeros before the start."""
    out = np.zeros_like(x)
    out[..., steps:] = x[..., :-steps]
    return out


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


# The dependency task (R2RT, "Recurrent neural networks in TensorFlow I"):
# P(y_t = 1) = 0.5 + 0.5 x_{t-3} - 0.25 x_{t-8}.
DEPENDENCIES = ((3, 0.5), (8, -0.25))


def dependency_probability(x: np.ndarray) -> np.ndarray:
    return 0.5 + sum(weight * shift(x, lag) for lag, weight in DEPENDENCIES)


def dependency_targets(rng: np.random.RandomState, x: np.ndarray) -> np.ndarray:
    """y_t drawn with P(y_t = 1) = dependency_probability(x)_t."""
    return (rng.rand(*x.shape) < dependency_probability(x)).astype(x.dtype)


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
