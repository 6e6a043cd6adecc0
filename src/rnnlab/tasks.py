"""Pure data functions: a task draws (x, y) from the generator it is given. No TensorFlow."""
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


def to_windows(a: np.ndarray, truncation: int, stride: int | None = None) -> np.ndarray:
    """[batch, row] -> [num_windows, batch, truncation]: window i starts at step i * stride
    (default: truncation, the tutorial's non-overlapping windows); the tail shorter than a
    window is dropped."""
    stride = stride or truncation
    windows = np.lib.stride_tricks.sliding_window_view(a, truncation, axis=1)[:, ::stride]
    return np.ascontiguousarray(windows.transpose(1, 0, 2))


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


def baseline_note(task: str) -> str:
    """What the epoch summary prints beside the loss, so a reader can place it."""
    if task != "dependency":
        return ""
    b = dependency_baselines()
    return (f" (expected loss learning neither dependency {b['neither']:.4f}, "
            f"the first {b['first']:.4f}, both {b['both']:.4f})")


def make_series(rng: np.random.RandomState, task: str, layout: str, series_length: int,
                echo_step: int, batch_size: int):
    """One epoch's (x, y), [batch, series_length // batch] each, for `task`.

    layout "tutorial" draws one series and cuts it into rows, as the tutorial does;
    "rows" makes each row a series of its own, so no target depends on unseen inputs.
    """
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
