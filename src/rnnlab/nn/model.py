"""The model: stacked recurrent layers (any cell of the cell table), an optional input
embedding, dropout between layers, and an output layer; and the tutorial's own vanilla
RNN (EchoRNN). How a window's gradients are computed is not the model's business but
a gradient algorithm's (nn/gradients.py).

What a model offers the trainer, eval, predict, export and diagnose: `params`,
`zero_state(batch)`, `step(x_t, state)`, `run(x, state)` (the outputs and the states
along a stretch), `loss(...)`, `dropout_masks(...)`, and `state_names`, which layer and
part (h or c) each state tensor is.
"""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf
from rnnlab.nn.cells import CELLS, Cell, matmul
from rnnlab.nn.inits import INITS
from rnnlab.nn.layers import make_layer
from rnnlab.nn.losses import masked_mean_loss, squared_error_loss


def init_params(rng: np.random.RandomState, cell="vanilla", layers: int = 1,
                state_size: int = 4, num_inputs: int = 1, num_classes: int = 2,
                init: str = "tutorial", embedding: int | None = None) -> dict:
    """Initial weights drawn from `rng` in the tutorial's order: each layer's (bottom
    first), then the output layer's W2. With one vanilla layer and init "tutorial" this
    is the tutorial's `W = rand(S+1, S)`, `W2 = rand(S, C)` exactly. With `embedding`,
    a learned input embedding E [num_inputs, embedding] is drawn last, uniform in
    +-0.1 (as word_language_model's), and the first layer reads its rows."""
    cell = _entry(cell)
    cells = []
    for layer in range(layers):
        inputs = (embedding or num_inputs) if layer == 0 else state_size
        cells.append(cell.init(rng, inputs, state_size, init))
    params = {"cells": cells, **INITS[init].output(rng, state_size, num_classes)}
    if embedding:
        params["E"] = rng.uniform(-0.1, 0.1, (num_inputs, embedding))
    return params


def tutorial_init(rng: np.random.RandomState, state_size: int, num_classes: int = 2) -> dict:
    """The tutorial's initial weights, {W, b, W2, b2}: W = rand(S+1, S), then W2 = rand(S, C)."""
    params = init_params(rng, "vanilla", 1, state_size, 1, num_classes, "tutorial")
    return {**params["cells"][0], "W2": params["W2"], "b2": params["b2"]}


def uniform_hash(seeds, counter, shape, stream: int) -> "tf.Tensor":
    """Uniform numbers in [0, 1) for every element of `shape`, a pure function of the
    seeds ([] or, for a population, [P] on the shape's axis 1), the update's number
    `counter` and `stream`: a counter-based generator (murmur3's finaliser over 32-bit
    integers), so the same window draws the same numbers on any machine, after a resume
    too, and each population member those of its single run."""
    def u32(value):
        return tf.constant(value, tf.uint32)

    members = seeds.shape.rank and seeds.shape[0]
    block = shape[:1] + shape[2:] if members else shape     # one member's [T, B, U]
    index = tf.reshape(tf.cast(tf.range(int(np.prod(block))), tf.uint32), block)
    if members:  # [T, P, B, U]: each member's index block, its own seed
        index = tf.broadcast_to(index[:, None], shape)
        seeds = tf.reshape(seeds, [1, -1] + [1] * (len(shape) - 2))
    x = (index * u32(0x9E3779B9) + tf.cast(counter, tf.uint32) * u32(0x85EBCA6B)
         + u32(stream) * u32(0xC2B2AE35) + seeds * u32(0x27D4EB2F))
    for shift, factor in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, u32(shift))) * u32(factor)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, u32(16)))
    return tf.cast(tf.bitwise.right_shift(x, u32(8)), tf.float32) * (2.0 ** -24)


class RNN(tf.Module):
    """Stacked layers of one cell; logits_t = h_t(top) @ W2 + b2."""

    time_axis = 1            # of the input windows, [batch, T, ...]
    population_shape = ()    # (P,) for a population of P networks (nn/population.py)
    loss_axes = None         # axes a loss averages over: all, or all but the population's
    dtype = tf.float32       # of the weights (float64 for gradient checks)

    def __init__(self, params: dict, cell="vanilla", regression: bool = False,
                 name: str = "rnn", dtype=None, dropout: float = 0.0):
        super().__init__(name=name)
        self.cell: Cell = _entry(cell)
        self.regression = regression  # one number out, squared error (the adding task)
        self.dtype = dtype or self.dtype
        self.cells = [make_layer(self.cell, w, name=f"layer{i}", dtype=self.dtype)
                      for i, w in enumerate(params["cells"])]
        self.W2 = tf.Variable(params["W2"], dtype=self.dtype, name="W2")
        self.b2 = tf.Variable(params["b2"], dtype=self.dtype, name="b2")
        # A learned embedding of the input symbols, or None: one-hot rows (or numbers).
        self.E = tf.Variable(params["E"], dtype=self.dtype, name="E") if "E" in params else None
        # The input symbols (or numbers per step): the embedding's rows, else the first
        # layer's inputs.
        self.num_inputs = params["E"].shape[-2] if "E" in params else self.cells[0].inputs
        self.dropout = dropout  # between layers and before the output layer, in training

    @property
    def units(self) -> int:
        return self.cells[0].units

    state_size = units

    @property
    def W(self):
        """The first layer's W (the tutorial's, for its one vanilla layer)."""
        return self.cells[0].W

    @property
    def b(self):
        return self.cells[0].b

    @property
    def state_names(self) -> list:
        """(layer, part) of each tensor of the carried state, in its order: (0, "h"),
        (0, "c"), (1, "h"), ... for a 2-layer LSTM."""
        return [(layer, part) for layer in range(len(self.cells)) for part in self.cell.parts]

    def encode(self, x_t):
        """Symbols [batch] -> cell inputs: a bit as one number [batch, 1], a character
        (text task) as a one-hot row [batch, num_inputs]; inputs that already have
        their channels, [batch, num_inputs] (the adding task's value and marker), as
        they are."""
        if x_t.shape.rank == len(self.population_shape) + 2:
            return tf.cast(x_t, self.dtype)
        if self.E is not None:
            return embed(self.E, tf.cast(x_t, tf.int32), bool(self.population_shape))
        if self.num_inputs == 1:
            return tf.cast(x_t, self.dtype)[..., None]
        return tf.one_hot(tf.cast(x_t, tf.int32), self.num_inputs, dtype=self.dtype)

    @property
    def params(self) -> list:
        """Trainable parameters: the embedding's (if any), each layer's in the cell
        table's order, bottom first, then W2 and b2."""
        embedding = [] if self.E is None else [self.E]
        return embedding + [v for layer in self.cells for v in layer.params] + [self.W2,
                                                                               self.b2]

    def dropout_masks(self, seeds, counter, batch: int, T: int):
        """The window's dropout masks, [T, (P,) batch, units] for each layer's outputs
        (feeding the next layer, or the output layer): kept units scaled by 1/(1 - rate),
        dropped ones 0 (inverted dropout). None without dropout."""
        if not self.dropout:
            return None
        shape = [T] + list(self.population_shape) + [batch, self.units]
        return [tf.cast(uniform_hash(seeds, counter, shape, layer) >= self.dropout, self.dtype)
                / (1.0 - self.dropout) for layer in range(len(self.cells))]

    def zero_state(self, batch: int) -> tuple:
        """The carried state: the layers' state tensors, bottom layer first, as one tuple."""
        return tuple(t for layer in self.cells for t in layer.zero_state(batch))

    def split_state(self, state) -> list:
        """The carried state as one tuple per layer."""
        n = len(self.cell.parts)
        return [tuple(state[i:i + n]) for i in range(0, len(state), n)]

    def step(self, x_t, state, masks_t=()):
        """x_t: [batch] symbols, state: tuple -> (logits [batch, C], state). masks_t:
        dropout's masks of this step, one per layer ([batch, units]), in training."""
        new_state, h = [], self.encode(x_t)
        for layer, (cell, s) in enumerate(zip(self.cells, self.split_state(state))):
            h, s = cell.step(h, s)
            new_state.extend(s)  # the recurrent connection: never dropped
            if masks_t:
                h = h * masks_t[layer]
        return matmul(h, self.W2) + self.b2, tuple(new_state)

    def run(self, x, state, masks=None):
        """x: [batch, T] (or [batch, T, channels]) from `state` -> (logits [T, batch, C],
        the states along it: one [T, batch, units] per state tensor, the state after
        each step); `masks` as dropout_masks's.

        A loop over time (tf.scan), not unrolled at trace time: XLA compiles an unrolled
        50-step LSTM and its gradient for over a minute, the loop in seconds.
        """
        if self.cell.scan:
            return self._run_layers(x, state, masks)

        def step(carry, inputs):
            logits_t, new_state = self.step(inputs[0], carry[1], inputs[1:])
            return logits_t, new_state

        # The logits' shape: the state's leading axes ([batch], or [population, batch]), C.
        first = tf.zeros(tf.concat([tf.shape(state[0])[:-1], [self.W2.shape[-1]]], 0),
                         self.W2.dtype)
        time_major = tf.experimental.numpy.moveaxis(x, self.time_axis, 0)
        logits, states = tf.scan(step, (time_major, *(masks or ())), initializer=(first, state))
        return logits, tuple(states)

    def _run_layers(self, x, state, masks=None):
        """run() for cells that take a whole window at once (the scan cells): layer by
        layer, each over all steps."""
        time_major = tf.experimental.numpy.moveaxis(x, self.time_axis, 0)
        h = self._encode_all(time_major)
        states = []
        for depth, (layer, s) in enumerate(zip(self.cells, self.split_state(state))):
            h, along = layer.run(h, s)
            states.extend(along)
            if masks:
                h = h * masks[depth]
        return h @ self.W2 + self.b2, tuple(states)

    def _encode_all(self, x):
        """encode() for every step at once: [T, B(, channels)] -> [T, B, inputs]."""
        if x.shape.rank == len(self.population_shape) + 3:
            return tf.cast(x, self.dtype)
        if self.E is not None:  # a population's members each their own rows
            ids = tf.experimental.numpy.moveaxis(tf.cast(x, tf.int32), 0, -1)
            rows = embed(self.E, ids, bool(self.population_shape))  # [(P,) B, T, N]
            return tf.experimental.numpy.moveaxis(rows, -2, 0)
        if self.num_inputs == 1:
            return tf.cast(x, self.dtype)[..., None]
        return tf.one_hot(tf.cast(x, tf.int32), self.num_inputs, dtype=self.dtype)

    def unroll(self, x_window, state, carry_at: int | None = None, masks=None):
        """run() along a window -> (logits [T, batch, C], the state after step `carry_at`
        - 1, by default the last: the one carried into the next window)."""
        T = x_window.shape[self.time_axis]  # a population's windows are [P, batch, T, ...]
        logits, states = self.run(x_window, state, masks)
        return logits, tuple(s[(T if carry_at is None else carry_at) - 1] for s in states)

    def loss(self, logits, y_window, loss_from: int):
        """logits [T, (P,) batch, C], y_window [(P,) batch, T] -> the mean loss over steps
        loss_from.. (a population: one per member, [P])."""
        time_major = tf.experimental.numpy.moveaxis(y_window, -1, 0)
        if self.regression:
            return squared_error_loss(logits, tf.cast(time_major, logits.dtype), loss_from,
                                      self.loss_axes)
        return masked_mean_loss(logits, time_major, loss_from, self.loss_axes)


class EchoRNN(RNN):
    """The tutorial's model: one vanilla layer, state = tanh([x, state] @ W + b),
    logits = state @ W2 + b2, built from the tutorial's flat {W, b, W2, b2}."""

    def __init__(self, params: dict, dtype=tf.float32, name: str = "echo_rnn",
                 dropout: float = 0.0):
        if "cells" not in params:  # the tutorial's flat {W, b, W2, b2}
            params = {"cells": [{"W": params["W"], "b": params["b"]}],
                      "W2": params["W2"], "b2": params["b2"]}
        super().__init__(params, "vanilla", name=name, dtype=dtype,  # float64: NumPy checks
                         dropout=dropout)


def embed(E, ids, population: bool):
    """Rows of the embedding E [(P,) V, N] for symbols ids [(P,) B, ...]: [(P,) B, ..., N]."""
    if not population:
        return tf.gather(E, ids)
    return tf.gather(E, ids, batch_dims=1)


def _entry(cell) -> Cell:
    """A cell table entry, given it or its name."""
    return CELLS[cell] if isinstance(cell, str) else cell


def model_for(settings, rng: np.random.RandomState) -> RNN:
    """The model a run's settings (settings.Settings) ask for, its initial weights drawn
    from `rng`."""
    params = init_params(rng, settings.cell, settings.layers, settings.state_size,
                         settings.num_inputs, settings.num_classes, settings.init,
                         settings.embedding)
    return RNN(params, settings.cell, settings.task.regression, dropout=settings.dropout)
