"""The models: stacked cells and an output layer, with backpropagation through a window
written out by hand (backprop.py) for the from-scratch cells, and the tutorial's own
vanilla RNN.

Every model offers the same four things to the trainer, eval and export:
`params`, `zero_state(batch)`, `step(x_t, state)` and `loss_and_grads(...)`.
"""
from __future__ import annotations

import numpy as np

from rnnlab import backprop
from rnnlab._tf import tf
from rnnlab.cells import glorot, init_weights, make_cell, matmul
from rnnlab.series import ADDING_TOLERANCE
from rnnlab.tasks import TASKS


def init_params(rng: np.random.RandomState, cell: str = "vanilla", layers: int = 1,
                state_size: int = 4, num_inputs: int = 1, num_classes: int = 2,
                init: str = "tutorial", embedding: int | None = None) -> dict:
    """Initial weights drawn from `rng` in the tutorial's order: each layer's W (bottom
    first), then the output layer's W2. With one vanilla layer and init "tutorial" this
    is the tutorial's `W = rand(S+1, S)`, `W2 = rand(S, C)` exactly. With `embedding`,
    a learned input embedding E [num_inputs, embedding] is drawn last, uniform in
    +-0.1 (as word_language_model's), and the first layer reads its rows."""
    cells = []
    for layer in range(layers):
        inputs = (embedding or num_inputs) if layer == 0 else state_size
        cells.append(init_weights(rng, cell, inputs, state_size, init))
    if init == "tutorial":
        W2 = rng.rand(state_size, num_classes)
    else:
        W2 = glorot(rng, state_size, num_classes, (state_size, num_classes))
    params = {"cells": cells, "W2": W2, "b2": np.zeros((1, num_classes))}
    if embedding:
        params["E"] = rng.uniform(-0.1, 0.1, (num_inputs, embedding))
    return params


def tutorial_init(rng: np.random.RandomState, state_size: int, num_classes: int = 2) -> dict:
    """The tutorial's initial weights, {W, b, W2, b2}: W = rand(S+1, S), then W2 = rand(S, C)."""
    params = init_params(rng, "vanilla", 1, state_size, 1, num_classes, "tutorial")
    return {**params["cells"][0], "W2": params["W2"], "b2": params["b2"]}


def masked_mean_loss(logits, labels, loss_from: int, axis=None):
    """Mean cross-entropy over the window's steps from `loss_from` on, and its rows
    (over `axis` only, when a population keeps one loss per member)."""
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(losses[loss_from:], axis=axis)


def squared_error_loss(outputs, targets, loss_from: int, axis=None):
    """Mean squared error over the targets that exist (not NaN) in steps loss_from.. of
    the window; 0, with zero gradients, for a window without any.

    outputs [T, batch, 1], targets [T, batch] (a population: [T, P, batch, ...]; `axis`
    as in masked_mean_loss). The NaNs are replaced before the subtraction: masking
    afterwards would still send NaN * 0 = NaN into the gradients.
    """
    targets, outputs = targets[loss_from:], outputs[loss_from:, ..., 0]
    present = tf.math.is_finite(targets)
    errors = tf.where(present, outputs - tf.where(present, targets, 0.0), 0.0)
    count = tf.reduce_sum(tf.cast(present, outputs.dtype), axis=axis)
    return tf.reduce_sum(errors * errors, axis=axis) / tf.maximum(count, 1.0)


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


def correct_predictions(logits, targets, regression: bool):
    """Where the model is right: the most likely class (for bits, the tutorial's 1 when
    P(class 0) < 0.5), or the adding task's number within ADDING_TOLERANCE of the sum
    (a missing target, NaN, compares false)."""
    if regression:
        return tf.abs(logits[..., 0] - targets) < ADDING_TOLERANCE
    return tf.argmax(logits, axis=-1, output_type=tf.int32) == targets


class RNN(tf.Module):
    """Stacked cells; logits_t = h_t(top) @ W2 + b2. Gradients written out by hand
    (backprop.py) for the from-scratch cells, by automatic differentiation for Keras's
    cells or when `autodiff` is asked for."""

    time_axis = 1            # of the input windows, [batch, T, ...]
    population_shape = ()    # (P,) for a population of P networks (population.py)
    loss_axes = None         # axes a loss averages over: all, or all but the population's
    dtype = tf.float32       # of the weights (float64 for gradient checks)

    def __init__(self, params: dict, cell: str = "vanilla", regression: bool = False,
                 name: str = "rnn", dtype=None, autodiff: bool = False, dropout: float = 0.0):
        super().__init__(name=name)
        self.cell_kind = cell  # whose equations backprop.py differentiates
        self.regression = regression  # one number out, squared error (the adding task)
        self.dtype = dtype or self.dtype
        # GradientTape through the tf.scan loop: the reference the hand-written pass is
        # checked against, and the only way for Keras's cells.
        self.autodiff = autodiff or cell.startswith("keras-")
        self.cells = [make_cell(cell, w, name=f"layer{i}", dtype=self.dtype)
                      for i, w in enumerate(params["cells"])]
        self.W2 = tf.Variable(params["W2"], dtype=self.dtype, name="W2")
        self.b2 = tf.Variable(params["b2"], dtype=self.dtype, name="b2")
        # A learned embedding of the input symbols, or None: one-hot rows (or numbers).
        self.E = tf.Variable(params["E"], dtype=self.dtype, name="E") if "E" in params else None
        # The input symbols (or numbers per step): the embedding's rows, else the first
        # layer's inputs.
        self.num_inputs = (params["E"].shape[-2] if "E" in params else
                           params["cells"][0]["W"].shape[-2] - self.cells[0].units)
        self.dropout = dropout  # between layers and before the output layer, in training
        self._state_parts = [len(c.zero_state(1)) for c in self.cells]  # tensors per layer

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
    def params(self):
        """Trainable parameters: the embedding's (if any), each layer's, bottom first,
        then W2 and b2."""
        embedding = [] if self.E is None else [self.E]
        return embedding + [v for c in self.cells for v in c.trainable_variables] + [self.W2,
                                                                                    self.b2]

    def dropout_masks(self, seeds, counter, batch: int, T: int):
        """The window's dropout masks, [T, (P,) batch, units] for each layer's outputs
        (feeding the next layer, or the output layer): kept units scaled by 1/(1 - rate),
        dropped ones 0 (inverted dropout). None without dropout."""
        if not self.dropout:
            return None
        shape = [T] + list(self.population_shape) + [batch, self.cells[0].units]
        return [tf.cast(uniform_hash(seeds, counter, shape, layer) >= self.dropout, self.dtype)
                / (1.0 - self.dropout) for layer in range(len(self.cells))]

    def zero_state(self, batch: int) -> tuple:
        """The carried state: the cells' state tensors, bottom layer first, as one tuple."""
        return tuple(t for c in self.cells for t in c.zero_state(batch))

    def _split(self, state):
        parts, i = [], 0
        for n in self._state_parts:
            parts.append(tuple(state[i:i + n]))
            i += n
        return parts

    def step(self, x_t, state, masks_t=()):
        """x_t: [batch] symbols, state: tuple -> (logits [batch, C], state). masks_t:
        dropout's masks of this step, one per layer ([batch, units]), in training."""
        new_state, h = [], self.encode(x_t)
        for layer, (cell, s) in enumerate(zip(self.cells, self._split(state))):
            h, s = cell.step(h, s)
            new_state.extend(s)  # the recurrent connection: never dropped
            if masks_t:
                h = h * masks_t[layer]
        return matmul(h, self.W2) + self.b2, tuple(new_state)

    def unroll(self, x_window, state, carry_at: int | None = None, masks=None):
        """x_window: [batch, T] (or [batch, T, channels]) -> (logits [T, batch, C], state
        after step `carry_at` - 1 (default: the last step)); `masks` as dropout_masks's.

        A loop over time (tf.scan), not unrolled at trace time: XLA compiles an unrolled
        50-step LSTM and its gradient for over a minute, the loop in seconds.
        """
        T = x_window.shape[self.time_axis]  # a population's windows are [P, batch, T, ...]
        carry_at = T if carry_at is None else carry_at

        def step(carry, inputs):
            logits_t, new_state = self.step(inputs[0], carry[1], inputs[1:])
            return logits_t, new_state

        # The logits' shape: the state's leading axes ([batch], or [population, batch]), C.
        first = tf.zeros(tf.concat([tf.shape(state[0])[:-1], [self.W2.shape[-1]]], 0),
                         self.W2.dtype)
        time_major = tf.experimental.numpy.moveaxis(x_window, self.time_axis, 0)
        logits, states = tf.scan(step, (time_major, *(masks or ())), initializer=(first, state))
        return logits, tuple(s[carry_at - 1] for s in states)

    def loss(self, logits, y_window, loss_from: int):
        """logits [T, (P,) batch, C], y_window [(P,) batch, T] -> the mean loss over steps
        loss_from.. (a population: one per member, [P])."""
        time_major = tf.experimental.numpy.moveaxis(y_window, -1, 0)
        if self.regression:
            return squared_error_loss(logits, tf.cast(time_major, logits.dtype), loss_from,
                                      self.loss_axes)
        return masked_mean_loss(logits, time_major, loss_from, self.loss_axes)

    def loss_and_grads(self, x_window, y_window, state, loss_from: int = 0,
                       carry_at: int | None = None, masks=None):
        """One TBPTT update's worth: loss over steps loss_from.. of the window, its
        gradients, and the state to carry into the next window (after `carry_at` steps);
        `masks`: dropout's, as dropout_masks makes them.

        x_window, y_window: [batch, T]. Returns (loss, logits [T, batch, C], carried, grads).
        """
        if not self.autodiff:
            return backprop.loss_and_grads(self, x_window, y_window, state, loss_from, carry_at,
                                           masks)
        with tf.GradientTape() as tape:
            logits, carried = self.unroll(x_window, state, carry_at, masks)
            loss = self.loss(logits, y_window, loss_from)
            # A population's members share no weight, so the gradient of the sum of
            # their losses is each member's own gradient.
            total = tf.reduce_sum(loss)
        grads = tape.gradient(total, self.params)
        return loss, logits, carried, [tf.convert_to_tensor(g) for g in grads]  # E's: slices


class EchoRNN(RNN):
    """The tutorial's model: one vanilla layer, state = tanh([x, state] @ W + b),
    logits = state @ W2 + b2, built from the tutorial's flat {W, b, W2, b2}.

    Its window's BPTT is RNN's hand-written loops (backprop.py). It used to be unrolled
    by hand at trace time (15 steps, ~35 products); the loops train a tutorial epoch
    ~1.75x faster compiled (3.3 against 5.8 ms) and agree with the tutorial program's
    losses as closely (tests/test_train.py)."""

    def __init__(self, params: dict, dtype=tf.float32, name: str = "echo_rnn",
                 dropout: float = 0.0):
        if "cells" not in params:  # the tutorial's flat {W, b, W2, b2}
            params = {"cells": [{"W": params["W"], "b": params["b"]}],
                      "W2": params["W2"], "b2": params["b2"]}
        super().__init__(params, "vanilla", name=name, dtype=dtype,  # float64: NumPy checks
                         dropout=dropout)

    @property
    def W(self):
        return self.cells[0].W

    @property
    def b(self):
        return self.cells[0].b

    @property
    def state_size(self) -> int:
        return int(self.W.shape[1])


def embed(E, ids, population: bool):
    """Rows of the embedding E [(P,) V, N] for symbols ids [(P,) B, ...]: [(P,) B, ..., N]."""
    if not population:
        return tf.gather(E, ids)
    return tf.gather(E, ids, batch_dims=1)


def build_model(params: dict, cell: str, regression: bool = False, dropout: float = 0.0):
    """The tutorial's model (EchoRNN) where it applies, else the general one."""
    W = params["cells"][0]["W"]
    if (cell == "vanilla" and len(params["cells"]) == 1 and W.shape[0] == W.shape[1] + 1
            and not regression and "E" not in params):
        return EchoRNN(params, dropout=dropout)
    return RNN(params, cell, regression, dropout=dropout)


def model_for(config, rng: np.random.RandomState):
    """The model a TrainConfig asks for, its initial weights drawn from `rng`."""
    params = init_params(rng, config.cell, config.layers, config.state_size,
                         config.num_inputs, config.num_classes, config.init, config.embedding)
    return build_model(params, config.cell, TASKS[config.task].regression, config.dropout)
