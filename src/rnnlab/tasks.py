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


def to_windows(a: np.ndarray, truncation: int) -> np.ndarray:
    """[batch, row] -> [num_windows, batch, truncation]; the tail shorter than a window is dropped."""
    batch, row = a.shape
    num_windows = row // truncation
    a = a[:, :num_windows * truncation].reshape(batch, num_windows, truncation)
    return np.ascontiguousarray(a.transpose(1, 0, 2))


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
