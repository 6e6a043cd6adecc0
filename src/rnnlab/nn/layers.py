"""A layer of a recurrent cell as a tf.Module: its parameters as variables (named as the
cell table names them, so checkpoints find them) and one time step,
`step(x_t, state) -> (h_t, state)`, with the state a tuple of the cell's parts."""
from __future__ import annotations

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
        self.layer, self.units = layer, units
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


def make_layer(cell: Cell, weights: dict, name: str, dtype=tf.float32):
    """A layer of `cell` with `weights`; the from-scratch cells in `dtype` (float64 for
    gradient checks), Keras's in float32."""
    if cell.keras:
        return KerasCell(cell, weights, name)
    return CellLayer(cell, weights, name, dtype)
