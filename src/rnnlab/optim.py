"""Adagrad exactly as TF1's `AdagradOptimizer` (the tutorial's), which Keras 3 no longer offers."""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf


class Adagrad(tf.Module):
    """acc += g * g;  w -= lr * g / sqrt(acc), accumulators starting at 0.1, no epsilon.

    The update is written as TF1's ApplyAdagrad kernel computes it (g * lr * rsqrt(acc)),
    so float32 results match the tutorial program operation for operation. Keras's
    Adagrad differs: it adds an epsilon to sqrt(acc).
    """

    def __init__(self, learning_rate, params, initial_accumulator: float = 0.1):
        """learning_rate: a number, or for a population (population.py) one rate per
        member, the leading axis of every parameter."""
        super().__init__(name="adagrad")
        self.learning_rate = (np.asarray(learning_rate, np.float32) if np.ndim(learning_rate)
                              else float(learning_rate))
        self.accumulators = [
            tf.Variable(tf.fill(p.shape, initial_accumulator), name=p.name.split(":")[0] + "_acc")
            for p in params]

    def apply(self, grads, params):
        for g, p, acc in zip(grads, params, self.accumulators):
            lr = self.learning_rate
            if np.ndim(lr):  # per member: [P] -> [P, 1, ...] against the parameter
                lr = tf.constant(lr.reshape([-1] + [1] * (p.shape.rank - 1)))
            acc.assign_add(g * g)
            p.assign_sub(g * lr * tf.math.rsqrt(acc))
