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
    layer; training is 3x forward (forward, input gradient, weight gradient)."""
    G = CELLS[cell].gates
    forward = sum(2 * ((classes if layer == 0 else units) + units) * G * units
                  for layer in range(layers)) + 2 * units * classes
    return 3 * forward


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
