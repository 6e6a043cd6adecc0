"""Backpropagation through a window written out by hand, for the cells of the cell table
that have a step back (vanilla, LSTM, GRU: nn/cells.py), any number of stacked layers,
one network or a population: what the tbptt gradient algorithm runs for them
(nn/gradients.py; the autodiff one differentiates the same window by GradientTape).

Why not GradientTape through the tf.scan of model.RNN.unroll: XLA's program for that
gradient copies the whole [T, batch, units] gradient of the stacked outputs on every
backward step (O(T^2) memory traffic) and stores the weights, which while_v2 does not
see as loop invariants, once per step. Here each layer is two loops over time of its own
(never unrolled at trace time: XLA compiles an unrolled 50-step LSTM for over a minute):

  forward   before: the input projection X @ W_x + b of all steps, one product (a row
            gather for one-hot characters); in the loop: h @ W_h and the gates, the
            step's activations written to buffers [T, ...]
  backward  in the loop, from the last step: only dh (and the LSTM's dc) are carried;
            each step's pre-activation gradient dz_t is written to a buffer DZ [T, ...];
            after: dW_h = H_prev^T DZ, dW_x = X^T DZ, db and the layer below's dX = DZ W_x^T
            as single products over all steps

The output layer and the loss take all steps at once after the forward loops (their
gradient by a tape: no loop in it). Layers go bottom up forward, top down backward.

Shapes: T steps, B rows, U units, G gates (1, 4, 3), I inputs of a layer, C outputs; a
population puts its axis P before the rows everywhere ([T, P, B, ...] time-major, weights
[P, ...]) and goes through the same code: products are einsums whose population letter
is present or not (`_Shapes`). Dropout between layers and before the output layer
multiplies a layer's outputs, where the next one reads them, by a mask (and the gradient
that comes back by the same mask); a learned input embedding is a kind of layer input
(`EmbeddedInputs`, beside `DenseInputs` and `OneHotInputs`) whose gradient is summed into
the embedding's rows.
"""
from __future__ import annotations

from rnnlab._tf import tf


def loss_and_grads(model, x_window, y_window, state, loss_from: int = 0,
                   carry_at: int | None = None, masks=None, keep=None):
    """The loss of steps loss_from.. of a window, its gradients, and the state to carry.

    x_window: [(P,) B, T] symbols or [(P,) B, T, I] channels; y_window: [(P,) B, T];
    state: the layers' state tensors [(P,) B, U], bottom layer first; masks: dropout's,
    [T, (P,) B, U] per layer (model.dropout_masks), or None; keep: [T], where the
    backward pass cuts the gradient carried between steps (Layer.backward): windows of
    TBPTT within this one, whose gradients summed this gives (look/diagnose.py's bias).
    Returns (loss, logits [T, (P,) B, C], the state after `carry_at` steps, grads in
    model.params order).
    """
    T = int(x_window.shape[model.time_axis])
    carry_at = T if carry_at is None else carry_at
    shapes = _Shapes(bool(model.population_shape))
    first_input = layer_input = layer_inputs(model, x_window, shapes)
    layers = []
    for depth, (variables, s) in enumerate(zip(model.cells, model.split_state(state))):
        layers.append(Layer(model.cell, variables.W, variables.b, layer_input, s, shapes))
        outputs = layers[-1].outputs if masks is None else layers[-1].outputs * masks[depth]
        layer_input = DenseInputs(outputs, shapes)
    loss, logits, d_outputs, head_grads = output_layer(model, outputs, y_window, loss_from,
                                                       shapes)
    grads = []
    for depth in reversed(range(len(layers))):
        if masks is not None:  # what was dropped on the way up gets no gradient back
            d_outputs = d_outputs * masks[depth]
        wants_d_inputs = depth > 0 or isinstance(first_input, EmbeddedInputs)
        d_W, d_b, d_outputs = layers[depth].backward(d_outputs, wants_d_inputs, keep)
        grads = [d_W, d_b] + grads
    if isinstance(first_input, EmbeddedInputs):
        grads = [first_input.embedding_grad(d_outputs)] + grads
    carried = tuple(part for layer in layers for part in layer.state_after(carry_at))
    return loss, logits, carried, grads + head_grads


class _Shapes:
    """The products over all steps of one network ("tbi,io->tbo") or a population
    ("tpbi,pio->tpbo"): one code path for both.

    A population's smallest per-member matrices (I * O <= SMALL: the tutorial's 1 x 4
    input and 4 x 2 output weights) are multiplied as a broadcast product and a sum, as
    cells.matmul does per step, where XLA's batched dot runs one tiny product per member.
    Over all steps that broadcast holds a [T, P, B, I, O] intermediate, so the bar is
    lower than per step: at 8 x 8 it already made a population 1.5x slower, and at
    32 x 32 up to 8x, growing with T (backprop_speed.py --scaling --population 64)."""

    SMALL = 32

    def __init__(self, population: bool):
        self.p = "p" if population else ""

    def _small(self, I, O) -> bool:
        return bool(self.p) and I * O <= self.SMALL

    def project(self, X, W):
        """X [T, (P,) B, I] @ W [(P,) I, O] -> [T, (P,) B, O]."""
        if self._small(*W.shape[-2:]):
            return tf.reduce_sum(X[..., :, None] * W[:, None, :, :], axis=-2)
        p = self.p
        return tf.einsum(f"t{p}bi,{p}io->t{p}bo", X, W)

    def project_back(self, D, W):
        """D [T, (P,) B, O] @ W^T, W [(P,) I, O] -> [T, (P,) B, I]."""
        if self._small(*W.shape[-2:]):
            return tf.reduce_sum(D[..., None, :] * W[:, None, :, :], axis=-1)
        p = self.p
        return tf.einsum(f"t{p}bo,{p}io->t{p}bi", D, W)

    def sum_outer(self, X, D):
        """sum over steps and rows of X^T D: [T, (P,) B, I], [T, (P,) B, O] -> [(P,) I, O]."""
        if self._small(X.shape[-1], D.shape[-1]):
            # Steps first (contiguous blocks), then rows: one reduction over both
            # strided axes ran ~3x slower.
            by_row = tf.reduce_sum(X[..., :, None] * D[..., None, :], axis=0)
            return tf.reduce_sum(by_row, axis=1)
        p = self.p
        return tf.einsum(f"t{p}bi,t{p}bo->{p}io", X, D)

    @staticmethod
    def sum_rows(D):
        """[T, (P,) B, O] -> [(P,) 1, O], a bias's gradient (steps first, as sum_outer)."""
        return tf.reduce_sum(tf.reduce_sum(D, axis=0), axis=-2, keepdims=True)


# --- layer inputs --------------------------------------------------------------------


class DenseInputs:
    """Inputs as numbers, X [T, (P,) B, I]: bits, the adding task's channels, or the
    outputs of the layer below."""

    def __init__(self, X, shapes: _Shapes):
        self.X, self.shapes = X, shapes

    def project(self, W_x):
        return self.shapes.project(self.X, W_x)

    def weight_grad(self, DZ):
        return self.shapes.sum_outer(self.X, DZ)

    def input_grad(self, DZ, W_x):
        return self.shapes.project_back(DZ, W_x)


class SymbolRows:
    """Symbol ids [T, (P,) B] as rows of a per-symbol table [(P,) V, N] (W_x for one-hot
    inputs, the embedding E): reading the rows is a gather, the gradient a sum of the
    rows' gradients per symbol. A population's members index their own table through an
    offset of V rows per member into the flattened [(P *) V, N], so one gather and one
    segment sum serve both."""

    def __init__(self, ids, vocab: int, population: int | None):
        self.vocab, self.members = vocab, [] if population is None else [population]
        offsets = 0 if population is None else tf.range(population)[:, None] * vocab
        self.flat_ids = ids + offsets  # [T, (P,) B] row of the flattened table

    def gather(self, table):
        """table [(P,) V, N] -> [T, (P,) B, N]."""
        return tf.gather(tf.reshape(table, [-1, table.shape[-1]]), self.flat_ids)

    def summed(self, D):
        """D [T, (P,) B, N] -> [(P,) V, N], each symbol's row the sum of its steps' D."""
        N = D.shape[-1]
        rows = self.vocab * (self.members[0] if self.members else 1)
        summed = tf.math.unsorted_segment_sum(tf.reshape(D, [-1, N]),
                                              tf.reshape(self.flat_ids, [-1]), rows)
        return tf.reshape(summed, self.members + [self.vocab, N])


class OneHotInputs:
    """Characters as ids [T, (P,) B] of one-hot rows: their product with W_x is a gather
    of W_x's rows, its gradient a sum of DZ's rows per character (no [*, V] @ [V, G]
    product with mostly zeros)."""

    def __init__(self, ids, vocab: int, population: int | None):
        self.rows = SymbolRows(ids, vocab, population)

    def project(self, W_x):
        return self.rows.gather(W_x)

    def weight_grad(self, DZ):
        """DZ [T, (P,) B, G] -> [(P,) V, G]."""
        return self.rows.summed(DZ)

    def input_grad(self, DZ, W_x):
        raise NotImplementedError("the first layer's inputs take no gradient")


class EmbeddedInputs(DenseInputs):
    """Symbols ids [T, (P,) B] as rows of the learned embedding E [(P,) V, N]: dense
    inputs X = E[ids] [T, (P,) B, N], whose gradient dX is summed into E's rows."""

    def __init__(self, ids, E, population: int | None, shapes: _Shapes):
        self.rows = SymbolRows(ids, E.shape[-2], population)
        super().__init__(self.rows.gather(tf.convert_to_tensor(E)), shapes)

    def embedding_grad(self, dX):
        """dX [T, (P,) B, N] -> dE [(P,) V, N]."""
        return self.rows.summed(dX)


def layer_inputs(model, x_window, shapes: _Shapes):
    """The first layer's inputs, time-major, as model.encode reads symbols."""
    x = tf.experimental.numpy.moveaxis(x_window, model.time_axis, 0)
    population = model.population_shape[0] if model.population_shape else None
    if x.shape.rank == len(model.population_shape) + 3:  # channels given: [T, (P,) B, I]
        return DenseInputs(tf.cast(x, model.dtype), shapes)
    if model.E is not None:
        return EmbeddedInputs(tf.cast(x, tf.int32), model.E, population, shapes)
    if model.num_inputs == 1:                            # a bit per step
        return DenseInputs(tf.cast(x, model.dtype)[..., None], shapes)
    return OneHotInputs(tf.cast(x, tf.int32), model.num_inputs, population)


# --- a loop over time ----------------------------------------------------------------


def time_loop(body, T: int, sequences, carry, out_shapes, dtype, reverse: bool = False):
    """for t in 0..T-1 (T-1..0 if reverse): carry, outs = body([s[t] for s in sequences],
    carry), outs[k] written to buffer k, [T] + out_shapes[k]. A tf.while_loop (XLA: the
    buffers are updated in place) whose sequences and weights are read, never carried.
    Returns (carry, buffers)."""
    buffers = [tf.TensorArray(dtype, size=T, element_shape=shape) for shape in out_shapes]

    def step(t, carry, buffers):
        i = T - 1 - t if reverse else t
        carry, outs = body([tf.gather(s, i) for s in sequences], carry)
        return t + 1, carry, [b.write(i, o) for b, o in zip(buffers, outs)]

    _, carry, buffers = tf.while_loop(lambda t, *_: t < T, step,
                                      (tf.constant(0), tuple(carry), buffers))
    return carry, [b.stack() for b in buffers]


# --- a layer -------------------------------------------------------------------------


class Layer:
    """One layer's pass over the window: the forward loop at construction, its
    activations kept for `backward`."""

    def __init__(self, cell, W, b, inputs, state, shapes: _Shapes):
        """cell: its table entry; W: [(P,) I + U, G*U], b: [(P,) 1 or 2, G*U], inputs:
        DenseInputs or OneHotInputs of T steps, state: tuple of [(P,) B, U]."""
        self.cell, self.inputs, self.shapes, self.state = cell, inputs, shapes, tuple(state)
        W, b = tf.convert_to_tensor(W), tf.convert_to_tensor(b)  # read once, not per step
        self.W_x, b_x, self.W_h, self.b_h = cell.split(W, b, cell.units_of(W))
        ZX = inputs.project(self.W_x) + b_x                            # [T, (P,) B, G*U]
        self.T = ZX.shape[0]
        state_shape = state[0].shape
        _, self.saved = time_loop(self._step, self.T, [ZX], self.state,
                                  self._saved_shapes(state_shape, W.shape[-1]), W.dtype)

    def _step(self, zx, state):
        return self.cell.step(zx[0], state, self.W_h, self.b_h)

    def _saved_shapes(self, state_shape, GU):
        """The shapes of what `step` saves: the state's tensors, then the cell's extras."""
        U = GU // self.cell.gates
        return ([state_shape] * len(self.state)
                + [state_shape[:-1] + [width * U] for width in self.cell.saved])

    @property
    def outputs(self):
        """h of every step, [T, (P,) B, U]: the next layer's inputs."""
        return self.saved[0]

    def state_after(self, steps: int) -> tuple:
        """The state after `steps` steps (the carried state)."""
        return tuple(part[steps - 1] for part in self.saved[:len(self.state)])

    def previous_states(self):
        """The state entering each step: [initial state, state after 0, .., after T-2]."""
        return [tf.concat([s[None], part[:-1]], axis=0)
                for s, part in zip(self.state, self.saved[:len(self.state)])]

    def backward(self, d_outputs, wants_d_inputs: bool, keep=None):
        """d_outputs: dL/dh [T, (P,) B, U] from above -> (dW, db, dL/d inputs or None).
        keep: [T] 1 or 0, whether the gradient reaching step t's state from step t + 1
        flows on (0: t + 1 starts a window of truncated backprop); default all 1."""
        previous = self.previous_states()
        W_hT = tf.linalg.matrix_transpose(self.W_h)  # once, not per step
        saved = len(self.saved)
        keep = tf.ones([self.T], self.W_h.dtype) if keep is None else keep

        def back(seqs, carry):
            carry = tuple(part * seqs[-1] for part in carry)  # cut where a window starts
            return self.cell.back(seqs[0], seqs[1:1 + saved], seqs[1 + saved:-1], carry, W_hT)

        dz_shape = self.state[0].shape[:-1] + [self.W_h.shape[-1]]
        _, dz = time_loop(back, self.T, [d_outputs] + list(self.saved) + previous + [keep],
                          [tf.zeros_like(s) for s in self.state],
                          [dz_shape] * self.cell.dz_parts, self.W_h.dtype,
                          reverse=True)
        DZx, DZh = dz[0], dz[-1]
        d_W = tf.concat([self.inputs.weight_grad(DZx),
                         self.shapes.sum_outer(previous[0], DZh)], axis=-2)
        d_b = self.shapes.sum_rows(DZx)
        if self.cell.bias_rows == 2:
            d_b = tf.concat([d_b, self.shapes.sum_rows(DZh)], axis=-2)
        d_inputs = self.inputs.input_grad(DZx, self.W_x) if wants_d_inputs else None
        return d_W, d_b, d_inputs


# --- the output layer and the loss ---------------------------------------------------


def output_layer(model, H, y_window, loss_from: int, shapes: _Shapes):
    """logits = H @ W2 + b2 for all steps at once, the loss, and their gradients. The
    loss's gradient by a tape (the model's own loss functions, no loop in them), the
    products' by hand. H: [T, (P,) B, U] -> (loss, logits [T, (P,) B, C],
    dL/dH [T, (P,) B, U], [dW2, db2])."""
    W2 = tf.convert_to_tensor(model.W2)
    logits = shapes.project(H, W2) + model.b2
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = model.loss(logits, y_window, loss_from)
        # Members share no weight: the gradient of the sum is each member's own.
        total = tf.reduce_sum(loss)
    d_logits = tape.gradient(total, logits)
    return (loss, logits, shapes.project_back(d_logits, W2),
            [shapes.sum_outer(H, d_logits), shapes.sum_rows(d_logits)])
