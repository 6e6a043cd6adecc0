"""Recurrent cells, each one time step: `step(x_t, state) -> (output, state)`.

`state` is a tuple, so the LSTM's (h, c) travels the same loops as the others' (h,).
The from-scratch cells also run a population of networks at once: weights with a
leading population axis ([P, inputs + units, gates * units]) and inputs [P, batch, ...]
go through the same equations, as batched matrix products (population.py).
The from-scratch cells use Keras's gate order and bias layout, so the weights of one can
be copied into the other (tests/test_cells.py checks outputs and gradients agree).
"""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf
from rnnlab.config import GATES, base_cell

SMALL_STEP_PRODUCT = 128


def matmul(a, b):
    """a @ b. For a population's stacked weights [P, i, o] that are small (i * o at most
    SMALL_STEP_PRODUCT: the tutorial's 5 x 4, a 4-unit LSTM's 4 x 16), a broadcast
    product and a sum instead, which XLA fuses into one loop: its batched dot runs one
    tiny matrix product per member. From 16 x 16 on the batched dot is faster again
    (benchmarks/backprop_speed.py --scaling --population 64 --units 4 / 16)."""
    if b.shape.rank == 3 and b.shape[-2] * b.shape[-1] <= SMALL_STEP_PRODUCT:
        return tf.reduce_sum(a[..., :, None] * b[:, None, :, :], axis=-2)
    return a @ b


def glorot(rng: np.random.RandomState, fan_in: int, fan_out: int, shape) -> np.ndarray:
    """Glorot's uniform initialisation: +-sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def init_weights(rng: np.random.RandomState, kind: str, inputs: int, units: int, init: str):
    """Numpy weights of one cell: {"W": [inputs + units, gates*units], "b": [1 or 2, gates*units]}.

    tutorial: uniform [0, 1) as the tutorial's rand; glorot: uniform +-sqrt(6 / (fan_in +
    fan_out)) per gate block. Biases start at zero, but for the LSTM's forget gate at 1.
    """
    kind = base_cell(kind)
    gates = GATES[kind]
    shape = (inputs + units, gates * units)
    W = rng.rand(*shape) if init == "tutorial" else glorot(rng, inputs + units, units, shape)
    b = np.zeros((2 if kind == "gru" else 1, gates * units))
    if kind == "lstm":
        b[:, units:2 * units] = 1.0
    return {"W": W, "b": b}


class Vanilla(tf.Module):
    """h = tanh([x, h] @ W + b), the tutorial's cell."""

    def __init__(self, weights: dict, name="vanilla", dtype=tf.float32):
        super().__init__(name=name)
        self.W = tf.Variable(weights["W"], dtype=dtype, name="W")
        self.b = tf.Variable(weights["b"], dtype=dtype, name="b")
        self.units = int(self.W.shape[-1])

    def zero_state(self, batch):
        return (tf.zeros([batch, self.units], self.W.dtype),)

    def step(self, x_t, state):
        h = tf.tanh(matmul(tf.concat([x_t, state[0]], axis=-1), self.W) + self.b)
        return h, (h,)


class LSTM(tf.Module):
    """Gates in Keras's order i, f, g, o:  c = f*c + i*g;  h = o * tanh(c)."""

    def __init__(self, weights: dict, name="lstm", dtype=tf.float32):
        super().__init__(name=name)
        self.W = tf.Variable(weights["W"], dtype=dtype, name="W")
        self.b = tf.Variable(weights["b"], dtype=dtype, name="b")
        self.units = int(self.W.shape[-1]) // 4

    def zero_state(self, batch):
        zeros = tf.zeros([batch, self.units], self.W.dtype)
        return (zeros, zeros)

    def step(self, x_t, state):
        h, c = state
        z = matmul(tf.concat([x_t, h], axis=-1), self.W) + self.b
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, (h, c)


class GRU(tf.Module):
    """Keras's GRU (reset gate after the recurrent product), gates z, r, candidate:
    h = z*h + (1 - z) * tanh(x Wx_h + bx_h + r * (h Wh_h + bh_h))."""

    def __init__(self, weights: dict, name="gru", dtype=tf.float32):
        super().__init__(name=name)
        self.W = tf.Variable(weights["W"], dtype=dtype, name="W")
        self.b = tf.Variable(weights["b"], dtype=dtype, name="b")  # [input bias; recurrent bias]
        self.units = int(self.W.shape[-1]) // 3

    def zero_state(self, batch):
        return (tf.zeros([batch, self.units], self.W.dtype),)

    def step(self, x_t, state):
        h = state[0]
        inputs = int(self.W.shape[-2]) - self.units
        from_x = matmul(x_t, self.W[..., :inputs, :]) + self.b[..., 0:1, :]
        from_h = matmul(h, self.W[..., inputs:, :]) + self.b[..., 1:2, :]
        xz, xr, xh = tf.split(from_x, 3, axis=-1)
        hz, hr, hh = tf.split(from_h, 3, axis=-1)
        z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
        h = z * h + (1.0 - z) * tf.tanh(xh + r * hh)
        return h, (h,)


class KerasCell(tf.Module):
    """Keras's own SimpleRNNCell, LSTMCell or GRUCell behind the same step signature."""

    def __init__(self, kind: str, weights: dict, name=None):
        import keras

        super().__init__(name=name or kind.replace("-", "_"))
        base = base_cell(kind)
        W, b = weights["W"], weights["b"]
        units = W.shape[1] // GATES[base]
        inputs = W.shape[0] - units
        layer = {"vanilla": keras.layers.SimpleRNNCell, "lstm": keras.layers.LSTMCell,
                 "gru": keras.layers.GRUCell}[base](units)
        layer.build((None, inputs))
        bias = b if base == "gru" else b[0]
        layer.set_weights([W[:inputs], W[inputs:], bias])
        self.layer, self.units, self.base = layer, units, base
        # The layer's tf.Variables as attributes, so checkpoints and gradients find them.
        self.weights = [w.value for w in layer.weights]

    def zero_state(self, batch):
        zeros = tf.zeros([batch, self.units])
        return (zeros, zeros) if self.base == "lstm" else (zeros,)

    def step(self, x_t, state):
        h, new_state = self.layer(x_t, list(state))
        return h, tuple(new_state)


def make_cell(kind: str, weights: dict, name: str, dtype=tf.float32):
    """A cell with `weights`; the from-scratch cells in `dtype` (float64 for gradient
    checks), Keras's in float32."""
    if kind.startswith("keras-"):
        return KerasCell(kind, weights, name=name)
    return {"vanilla": Vanilla, "lstm": LSTM, "gru": GRU}[kind](weights, name=name, dtype=dtype)
