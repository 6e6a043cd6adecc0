"""The optimizers, written out: TF1's Adagrad (the tutorial's, which Keras 3 no longer
offers), and SGD, momentum, RMSprop and Adam as Keras 3 computes them (tests check the
numbers against Keras's). Written here rather than taken from Keras so that one update
runs inside rnnlab's compiled loop for a single network and for a population (one rate
per member), and so that a checkpoint holds exactly their slots.

The learning rate and the update's number are inputs of `apply`, not variables: the
rate can change between epochs (--lr-decay) without recompiling, and both are kept in
the run's Progress, so resumed runs, old checkpoints included, continue exactly.
"""
from __future__ import annotations

from rnnlab._tf import tf


class Optimizer(tf.Module):
    """Slots per parameter (`slots` of them, starting at `initial`) and an update rule."""

    slots, initial = (), 0.0

    def __init__(self, params, name: str):
        super().__init__(name=name)
        for slot in self.slots:
            setattr(self, slot, [tf.Variable(tf.fill(p.shape, self.initial),
                                             name=p.name.split(":")[0] + "_" + slot)
                                 for p in params])

    def apply(self, grads, params, learning_rate, step):
        """One update. learning_rate: [] or, for a population, [P] (one per member, the
        leading axis of every parameter); step: this update's number, from 1."""
        for i, (g, p) in enumerate(zip(grads, params)):
            lr = learning_rate
            if learning_rate.shape.rank:  # per member: [P] -> [P, 1, ...] against p
                lr = tf.reshape(learning_rate, [-1] + [1] * (p.shape.rank - 1))
            self.update(g, p, lr, step, *(getattr(self, slot)[i] for slot in self.slots))


class Adagrad(Optimizer):
    """TF1's: acc += g * g;  w -= lr * g / sqrt(acc), accumulators from 0.1, no epsilon.

    Written as TF1's ApplyAdagrad kernel computes it (g * lr * rsqrt(acc)), so float32
    results match the tutorial program operation for operation. (Keras's Adagrad adds an
    epsilon to sqrt(acc).)"""

    slots, initial = ("accumulators",), 0.1

    def __init__(self, params):
        super().__init__(params, "adagrad")

    def update(self, g, p, lr, step, acc):
        acc.assign_add(g * g)
        p.assign_sub(g * lr * tf.math.rsqrt(acc))


class SGD(Optimizer):
    """w -= lr * g."""

    def __init__(self, params):
        super().__init__(params, "sgd")

    def update(self, g, p, lr, step):
        p.assign_sub(g * lr)


class Momentum(Optimizer):
    """Keras's SGD(momentum=0.9): m = 0.9 m - lr g;  w += m."""

    slots = ("momentums",)

    def __init__(self, params):
        super().__init__(params, "momentum")

    def update(self, g, p, lr, step, m):
        m.assign(m * 0.9 - g * lr)
        p.assign_add(m)


class RMSprop(Optimizer):
    """Keras's RMSprop: v = 0.9 v + 0.1 g^2;  w -= lr g / sqrt(v + 1e-7)."""

    slots = ("velocities",)

    def __init__(self, params):
        super().__init__(params, "rmsprop")

    def update(self, g, p, lr, step, v):
        v.assign(0.9 * v + 0.1 * tf.square(g))
        p.assign_sub(lr * g / tf.sqrt(v + 1e-7))


class Adam(Optimizer):
    """Keras's Adam (beta 0.9, 0.999; epsilon 1e-7): m += (g - m)(1 - 0.9);
    v += (g^2 - v)(1 - 0.999); w -= m lr sqrt(1 - 0.999^t) / (1 - 0.9^t) / (sqrt(v) + 1e-7)."""

    slots = ("momentums", "velocities")

    def __init__(self, params):
        super().__init__(params, "adam")

    def update(self, g, p, lr, step, m, v):
        t = tf.cast(step, p.dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(0.999, t)) / (1 - tf.pow(0.9, t))
        m.assign_add((g - m) * (1 - 0.9))
        v.assign_add((tf.square(g) - v) * (1 - 0.999))
        p.assign_sub(m * alpha / (tf.sqrt(v) + 1e-7))


def make_optimizer(name: str, params) -> Optimizer:
    return {"adagrad": Adagrad, "sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop,
            "adam": Adam}[name](params)


def clip_by_global_norm(grads, clip: float, member_axis: bool = False):
    """Gradients scaled down so that their global norm (over all parameters; per
    member for a population, whose leading axis is its members) is at most `clip`.
    One formula for both, so that a member computes what its single run computes."""
    first = 1 if member_axis else 0
    squares = sum(tf.reduce_sum(tf.square(g), axis=list(range(first, g.shape.rank)))
                  for g in grads)                                      # [] or [P]
    scale = clip / tf.maximum(tf.sqrt(squares), clip)
    return [g * tf.reshape(scale, [-1] + [1] * (g.shape.rank - 1)) if member_axis
            else g * scale for g in grads]
