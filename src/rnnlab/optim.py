"""Adagrad exactly as TF1's `AdagradOptimizer` (the tutorial's), which Keras 3 no longer offers."""
from __future__ import annotations

from rnnlab._tf import tf


class Adagrad(tf.Module):
    """acc += g * g;  w -= lr * g / sqrt(acc), accumulators starting at 0.1, no epsilon.

    The update is written as TF1's ApplyAdagrad kernel computes it (g * lr * rsqrt(acc)),
    so float32 results match the tutorial program operation for operation. Keras's
    Adagrad differs: it adds an epsilon to sqrt(acc).
    """

    def __init__(self, learning_rate: float, params, initial_accumulator: float = 0.1):
        super().__init__(name="adagrad")
        self.learning_rate = float(learning_rate)
        self.accumulators = [
            tf.Variable(tf.fill(p.shape, initial_accumulator), name=p.name.split(":")[0] + "_acc")
            for p in params]

    def apply(self, grads, params):
        for g, p, acc in zip(grads, params, self.accumulators):
            acc.assign_add(g * g)
            p.assign_sub(g * self.learning_rate * tf.math.rsqrt(acc))
