"""A layer of a recurrent cell as a tf.Module: its parameters as variables (named as the
cell table names them, so checkpoints find them) and one time step,
`step(x_t, state) -> (h_t, state)`, with the state a tuple of the cell's parts."""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf
from rnnlab.nn.cells import Cell, matmul


class CellLayer(tf.Module):
    """A from-scratch cell's layer: it runs the cell table's equations."""

    def __init__(self, cell: Cell, weights: dict, name: str, dtype=tf.float32):
        super().__init__(name=name)
        self.cell = cell
        for param in cell.params:
            setattr(self, param, tf.Variable(weights[param], dtype=dtype, name=param))
        self.units = cell.units_of(self.W)
        self.inputs = int(self.W.shape[-2]) - self.units  # what each step reads

    @property
    def params(self) -> list:
        return [getattr(self, p) for p in self.cell.params]

    def zero_state(self, batch):
        zeros = tf.zeros([batch, self.units], self.W.dtype)
        return tuple(zeros for _ in self.cell.parts)

    def step(self, x_t, state):
        W_x, b_x, W_h, b_h = self.cell.split(self.W, self.b, self.units)
        state, _ = self.cell.step(matmul(x_t, W_x) + b_x, tuple(state), W_h, b_h)
        return state[0], state


class KerasCell(tf.Module):
    """Keras's own SimpleRNNCell, LSTMCell or GRUCell behind the same step, loaded with
    the weights of the from-scratch cell it twins (W = [kernel; recurrent kernel])."""

    def __init__(self, cell: Cell, weights: dict, name: str):
        import keras

        super().__init__(name=name)
        self.cell = cell
        W, b = weights["W"], weights["b"]
        units = cell.units_of(W)
        inputs = W.shape[0] - units
        layer = getattr(keras.layers, cell.keras)(units)
        layer.build((None, inputs))
        layer.set_weights([W[:inputs], W[inputs:], b if cell.bias_rows == 2 else b[0]])
        self.layer, self.units, self.inputs = layer, units, inputs
        # The layer's tf.Variables as attributes, so checkpoints and gradients find them.
        self.weights = [w.value for w in layer.weights]

    @property
    def params(self) -> list:
        return list(self.weights)

    def zero_state(self, batch):
        zeros = tf.zeros([batch, self.units])
        return tuple(zeros for _ in self.cell.parts)

    def step(self, x_t, state):
        h, new_state = self.layer(x_t, list(state))
        return h, tuple(new_state)


class ScanBlock(tf.Module):
    """A scan cell's block (nn/scan_cells.py): u + out(cell(rmsnorm(u))), then + MLP(
    rmsnorm(.)); the cell's whole window at once (`run`), or a step (`step`)."""

    def __init__(self, cell: Cell, weights: dict, name: str, dtype=tf.float32):
        super().__init__(name=name)
        self.cell, self.scan = cell, cell.scan
        self.names = [p for p in cell.params if p in weights]
        for param in self.names:
            setattr(self, param, tf.Variable(weights[param], dtype=dtype, name=param))
        self.units = int(weights["norm_1"].shape[-1])
        self.inputs = int(weights["W_in"].shape[-2]) if "W_in" in weights else self.units
        self.hidden = self.scan.hidden(self.units)
        # A population's weights have a member axis in front ([P, ...]); its vectors
        # then broadcast over the rows as [P, 1, n].
        self.population = np.ndim(weights["norm_1"]) == 2

    @property
    def params(self) -> list:
        return [getattr(self, p) for p in self.names]

    def _p(self) -> dict:
        p = {name: tf.convert_to_tensor(getattr(self, name)) for name in self.names}
        if self.population:
            p = {name: v[:, None] if v.shape.rank == 2 else v for name, v in p.items()}
        return p

    def zero_state(self, batch):
        zeros = tf.zeros([batch, self.hidden], self.norm_1.dtype)
        return tuple(zeros for _ in self.cell.parts)

    def _around(self, p, u, cell_out):
        """The residual block around the cell's output."""
        y = u + (cell_out @ p["W_out"] if "W_out" in p else cell_out)
        hidden = tf.nn.gelu(_rms_norm(y, p["norm_2"]) @ p["W_ff_1"] + p["b_ff_1"])
        return y + hidden @ p["W_ff_2"] + p["b_ff_2"]

    def run(self, X, state):
        """X [T, B, inputs] -> (Y [T, B, units], the states along: one [T, B, n] a part)."""
        p = self._p()
        u = X @ p["W_in"] if "W_in" in p else X
        out, states = self.scan.window(p, _rms_norm(u, p["norm_1"]), tuple(state))
        return self._around(p, u, out), states

    def step(self, x_t, state):
        p = self._p()
        u = x_t @ p["W_in"] if "W_in" in p else x_t
        out, state = self.scan.step(p, _rms_norm(u, p["norm_1"]), tuple(state))
        return self._around(p, u, out), state


def _rms_norm(x, scale):
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-6) * scale


def make_layer(cell: Cell, weights: dict, name: str, dtype=tf.float32):
    """A layer of `cell` with `weights`; the from-scratch cells in `dtype` (float64 for
    gradient checks), Keras's in float32."""
    if cell.keras:
        return KerasCell(cell, weights, name)
    if cell.scan:
        return ScanBlock(cell, weights, name, dtype)
    return CellLayer(cell, weights, name, dtype)
