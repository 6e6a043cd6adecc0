"""What the speed benchmarks share: the training work one character costs, and this
machine's matrix-multiply peak, to hold every GFLOP/s figure against."""
from __future__ import annotations

import statistics
import time

from rnnlab.nn.cells import CELLS


def flop_per_char(cell: str, layers: int, units: int, classes: int) -> int:
    """Dense-equivalent training FLOPs per character, counted as the model asks for them
    (whatever an implementation skips): forward 2 (I + U) G U per layer (I inputs: the
    classes for the first layer, U for the others; G gates) plus 2 U C for the output
    layer; training is 3x forward (forward, input gradient, weight gradient). A scan
    cell's block: 2 x each weight matrix's size (its products; the scan's element-wise
    work, a few dozen operations per hidden unit and step, is left out)."""
    if CELLS[cell].scan:
        matrices = sum(w.size for w in _weights(cell, layers, units, classes) if w.ndim == 2)
        return 3 * 2 * matrices
    G = CELLS[cell].gates
    forward = sum(2 * ((classes if layer == 0 else units) + units) * G * units
                  for layer in range(layers)) + 2 * units * classes
    return 3 * forward


def _weights(cell: str, layers: int, units: int, classes: int) -> list:
    import numpy as np

    from rnnlab.nn.model import init_params

    params = init_params(np.random.RandomState(0), cell, layers, units, classes, classes,
                         "glorot")
    return [w for layer in params["cells"] for w in layer.values()] + [params["W2"]]


def parameters(cell: str, layers: int, units: int, classes: int) -> int:
    """The model's weights, counted (output layer included)."""
    return sum(w.size for w in _weights(cell, layers, units, classes)) + classes


def width_for(cell: str, parameters_of: int, layers: int, classes: int) -> int:
    """The width (--state-size, a multiple of 4) at which `cell` has about
    `parameters_of` weights (they grow with the width: a bisection)."""
    low, high = 1, 1024  # in fours
    while low < high:
        middle = (low + high) // 2
        if parameters(cell, layers, 4 * middle, classes) < parameters_of:
            low = middle + 1
        else:
            high = middle
    return min((4 * max(low - 1, 1), 4 * low), key=lambda units: abs(
        parameters(cell, layers, units, classes) - parameters_of))


def matmul_peak(size: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of an XLA-compiled float32 size^3 matmul (median of repeats)."""
    from rnnlab._tf import tf

    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    product = tf.function(lambda a, b: a @ b, jit_compile=True)
    product(a, b).numpy()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        product(a, b).numpy()
        seconds.append(time.perf_counter() - started)
    return 2 * size ** 3 / statistics.median(seconds) / 1e9
