"""Online gradient algorithms: credit reaches past a window's start through what they
carry from window to window, the influence of the weights on the state.

A window of T steps is the interval between two updates. Along it, each step's state
s_t = F(s_{t-1}, x_t; theta) is run forward, and the influence J_t = ds_t/dtheta is
carried along with it: J_t = A_t J_{t-1} + I_t, where A_t = ds_t/ds_{t-1} and I_t =
dF/dtheta at step t. The window's gradient is sum_t dL/ds_t . J_t (dL/ds_t the loss's
own dependence on s_t, through the output layer), plus the output layer's own.

- rtrl (Williams & Zipser 1989): J whole, [rows, state, params]: the exact gradient of
  the window's loss through the whole past (for weights that did not change); O(n^4)
  work a step for n units.
- snap1 (Menick et al. 2021, SnAp-1): J kept only where a parameter acts on a unit in
  one step (the parameters of unit j's gates, on unit j's state); exact when the
  recurrent matrix is diagonal; O(n^2) a step, as backprop's.
- uoro (Tallec & Ollivier 2017): J estimated by a rank-one product s~ theta~^T with
  random signs, unbiased; O(n^2) a step. Its signs come from the run's seed and the
  update's number (a counter-based hash, nn/model.py): the same on any machine, and
  after a resume.

One layer of a cell of the cell table whose parameters are W = [W_x; W_h], b (not
Keras's cells), no input embedding; a population (a leading member axis on everything)
too. What a step needs of the cell: its equations as a function of its pre-activations
z (x W_x + h W_h + b; the GRU's x W_x + b_x and h W_h + b_h apart), from which
GradientTape gives dF/dz and the direct ds_t/ds_{t-1} (at fixed z) for every unit at
once, since the cells are elementwise over units given z.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab import lazytf as tf

EPSILON = 1e-7  # UORO's, keeping its rescaling finite when an estimate is zero


@dataclass(frozen=True)
class Online:
    """What the three share: the forward loop, the cell's derivatives at each step, the
    output layer's gradient; each algorithm says what it carries, how a step updates it
    and what the loss's dependence on the state makes of it."""

    name: str = ""
    help: str = ""
    online: bool = True

    # --- the cell's shapes and a step's derivatives -------------------------------

    @staticmethod
    def layout(model):
        """(K parts, U units, G gates, I inputs, R parameter rows, row -> z part) of the
        model's one layer: rows are W's (inputs, then units), then b's."""
        cell, layer = model.cell, model.cells[0]
        U, G, K = layer.units, cell.gates, len(cell.parts)
        I = int(layer.W.shape[-2]) - U
        R = I + U + cell.bias_rows
        if cell.bias_rows == 1:  # z = [x, h] W + b
            part = [0] * R
        else:  # the GRU: z_x = x W_x + b_x, z_h = h W_h + b_h
            part = [0] * I + [1] * U + [0, 1]
        return K, U, G, I, R, np.array(part)

    def step(self, model, x_t, state):
        """One step: (new state, D [(P,) B, R, K, G, U]: ds[k, j]/dz[g, j] of the z part
        each parameter row feeds, A [(P,) B, K, K, U]: the direct ds[k, j]/ds_prev[k', j],
        D_h [(P,) B, K, G, U]: ds/dz of the part h feeds, u [(P,) B, R]: each row's input,
        W_h [(P,) U, G, U])."""
        cell, layer = model.cell, model.cells[0]
        K, U, G, I, R, part = self.layout(model)
        x = model.encode(x_t)
        ones = tf.ones(tf.concat([tf.shape(x)[:-1], [cell.bias_rows]], 0), x.dtype)
        u = tf.concat([x, state[0], ones], axis=-1)                       # [(P,) B, R]
        Wb = tf.concat([layer.W, layer.b], axis=-2)                       # [(P,) R, GU]
        parts = max(part) + 1
        z = [_rows_product(u * tf.constant(part == q, x.dtype), Wb) for q in range(parts)]
        zero_h = tf.zeros_like(layer.W[..., I:, :])
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(z)
            tape.watch(list(state))
            if parts == 1:
                new_state, _ = cell.step(z[0], tuple(state), zero_h, 0.0)
            else:
                new_state, _ = cell.step(z[0], tuple(state), zero_h, z[1])
            sums = [tf.reduce_sum(s) for s in new_state]
        by_part = [tape.gradient(total, z + list(state)) for total in sums]
        del tape
        shape = tf.concat([tf.shape(x)[:-1], [G, U]], 0)
        D = tf.stack([tf.stack([tf.reshape(g[q], shape) for g in by_part], axis=-3)
                      for q in range(parts)], axis=-4)                    # [.., Q, K, G, U]
        A = tf.stack([tf.stack([_or_zeros(g[parts + k2], state[k2]) for k2 in range(K)],
                               axis=-2) for g in by_part], axis=-3)       # [.., K, K, U]
        D_rows = tf.gather(D, part, axis=-4)                              # [.., R, K, G, U]
        D_h = D[..., int(part[I]), :, :, :]
        W_h = tf.reshape(layer.W[..., I:, :], layer.W.shape[:-2] + [U, G, U])
        return tuple(new_state), D_rows, A, D_h, u, W_h

    # --- the window --------------------------------------------------------------

    def window(self, model, x, y, state, carried, loss_from: int = 0,
               carry_at: int | None = None, masks=None, key=None):
        """(loss, logits [T, (P,) B, C], state after the window, carried, grads). `key`:
        (seeds, the update's number), whence UORO's signs."""
        p = "p" if model.population_shape else ""
        T = int(x.shape[model.time_axis])
        xs = tf.experimental.numpy.moveaxis(x, model.time_axis, 0)
        ys = tf.experimental.numpy.moveaxis(y, -1, 0)                      # [T, (P,) B]
        W2 = tf.convert_to_tensor(model.W2)
        scale = _loss_scale(model, ys)
        K, U, G, I, R, _ = self.layout(model)
        grad = tf.zeros(list(model.population_shape) + [R, G, U], model.dtype)
        dW2, db2 = tf.zeros_like(W2), tf.zeros_like(model.b2)
        logits_all = tf.TensorArray(model.dtype, size=T)

        def body(t, state, carried, grad, dW2, db2, logits_all):
            new_state, D, A, D_h, u, W_h = self.step(model, xs[t], state)
            carried = self.update(p, carried, D, A, D_h, u, W_h, (key, T, t))
            h = new_state[0] if masks is None else new_state[0] * masks[0][t]
            logits = _rows_product(h, W2) + model.b2
            d_logits = _d_logits(model, logits, ys[t], scale)
            d_h = _rows_product_t(d_logits, W2)
            if masks is not None:
                d_h = d_h * masks[0][t]
            delta = tf.stack([d_h] + [tf.zeros_like(s) for s in new_state[1:]], axis=-2)
            grad += self.contract(p, delta, carried)
            dW2 += tf.einsum(f"{p}bu,{p}bc->{p}uc", h, d_logits)
            db2 += tf.reduce_sum(d_logits, axis=-2, keepdims=True)
            return t + 1, new_state, carried, grad, dW2, db2, logits_all.write(t, logits)

        _, state, carried, grad, dW2, db2, logits_all = tf.while_loop(
            lambda t, *_: t < T, body,
            (tf.constant(0), tuple(state), tuple(carried), grad, dW2, db2, logits_all))
        logits = logits_all.stack()
        loss = model.loss(logits, y, 0)
        rows = grad.shape[-3]
        dW = tf.reshape(grad[..., :I + U, :, :], grad.shape[:-3] + [I + U, G * U])
        db = tf.reshape(grad[..., I + U:rows, :, :], grad.shape[:-3] + [R - I - U, G * U])
        return loss, logits, tuple(state), tuple(carried), [dW, db, dW2, db2]

    def start(self, model, batch: int) -> tuple:
        rows = list(model.population_shape) + [batch]
        return tuple(tf.zeros(rows + shape, model.dtype) for shape in self.shapes(model))

    def shapes(self, model) -> list:
        K, U, G, I, R, _ = self.layout(model)
        return self._shapes(U, I, G, K, R)

    # --- what a run of it asks, checked before anything is made (settings.py) ----

    MOST_WORK = 2e9  # operations a step and row: past it, an epoch takes hours

    @staticmethod
    def sizes(settings) -> tuple:
        """(U, I, G, K, R) of a run's one layer, from its settings."""
        cell = settings.cell
        return (settings.state_size, settings.num_inputs, cell.gates, len(cell.parts),
                settings.num_inputs + settings.state_size + cell.bias_rows)

    def check(self, settings) -> None:
        """ConfigError naming what an online algorithm cannot do with these settings."""
        from rnnlab.errors import ConfigError

        why = [("--layers above 1", settings.layers > 1),
               ("--embedding", settings.embedding is not None),
               ("--stride (its windows are the intervals between updates)",
                settings.stride not in (None, settings.truncation)),
               (f"--cell {settings.cell.name} (Keras's: its equations are not the table's)",
                bool(settings.cell.keras)),
               (f"--cell {settings.cell.name} (a scan cell: its window is one parallel scan)",
                bool(settings.cell.scan))]
        for what, refused in why:
            if refused:
                raise ConfigError(f"--gradient {self.name} trains one layer of a cell of "
                                  f"the cell table from symbols or numbers: not with {what}")
        work = self.flops(*self.sizes(settings))
        if work > self.MOST_WORK:
            raise ConfigError(f"--gradient {self.name} with {settings.state_size} units would "
                              f"take about {work:.1e} operations a step and row (at most "
                              f"{self.MOST_WORK:.0e}; it grows as {self.growth}); try a "
                              f"smaller --state-size")

    COPIES = 12  # of the influence held at once by a compiled window: the carried one,
                 # the new one, the products on the way to it, the loop's buffers (RTRL
                 # with 64 units, batch 100: 1.25 GB measured beyond the process's own)

    def memory(self, settings) -> int:
        """Bytes of what it carries, for the batch, with what a step makes beside it."""
        floats = sum(int(np.prod(s)) for s in self._shapes(*self.sizes(settings)))
        return 4 * self.COPIES * floats * settings.batch_size


@dataclass(frozen=True)
class RTRL(Online):
    growth = "n^4"
    name: str = "rtrl"
    help: str = ("real-time recurrent learning: the exact gradient through the whole past, "
                 "O(n^4) a step (one layer)")

    def _shapes(self, U, I, G, K, R) -> list:
        return [[K, U, R, G, U]]  # J[k, j, r, g, l]: of parameter (r, g, l) on s[k, j]

    def update(self, p, carried, D, A, D_h, u, W_h, when):
        (J,) = carried
        kept = tf.einsum(f"{p}bkqj,{p}bqjrgl->{p}bkjrgl", A, J)
        through_h = tf.einsum(f"{p}jal,{p}bjrgm->{p}balrgm", W_h, J[..., 0, :, :, :, :])
        kept += tf.einsum(f"{p}bkaj,{p}bajrgm->{p}bkjrgm", D_h, through_h)
        units = J.shape[-1]
        new = tf.einsum(f"{p}brkgj,{p}br,jl->{p}bkjrgl", D, u, tf.eye(units, dtype=J.dtype))
        return (kept + new,)

    def contract(self, p, delta, carried):
        return tf.einsum(f"{p}bkj,{p}bkjrgl->{p}rgl", delta, carried[0])

    def flops(self, U, I, G, K, R) -> int:
        return 2 * K * U * R * G * U * (K + U)


@dataclass(frozen=True)
class SnAp1(Online):
    growth = "n^2"
    name: str = "snap1"
    help: str = ("SnAp-1: the influence of each unit's own weights on it alone; exact for "
                 "a diagonal recurrent matrix, O(n^2) a step (one layer)")

    def _shapes(self, U, I, G, K, R) -> list:
        return [[K, R, G, U]]  # S[k, r, g, j]: of parameter (r, g, j) on s[k, j]

    def update(self, p, carried, D, A, D_h, u, W_h, when):
        (S,) = carried
        self_h = tf.linalg.diag_part(tf.experimental.numpy.moveaxis(W_h, -2, -3))  # [.., G, U]
        recurrent = tf.einsum(f"{p}bkgj,{p}gj->{p}bkj", D_h, self_h)
        diagonal = A + tf.stack([recurrent] + [tf.zeros_like(recurrent)] * (A.shape[-2] - 1),
                                axis=-2)  # A[k, k', j] with dz/dh_j's own term on k' = h
        kept = tf.einsum(f"{p}bkqj,{p}bqrgj->{p}bkrgj", diagonal, S)
        return (kept + tf.einsum(f"{p}brkgj,{p}br->{p}bkrgj", D, u),)

    def contract(self, p, delta, carried):
        return tf.einsum(f"{p}bkj,{p}bkrgj->{p}rgj", delta, carried[0])

    def flops(self, U, I, G, K, R) -> int:
        return 2 * K * R * G * U * (K + 1)


@dataclass(frozen=True)
class UORO(Online):
    growth = "n^2"
    name: str = "uoro"
    help: str = ("unbiased online recurrent optimisation: a rank-one estimate of the "
                 "influence, random signs from the seed, O(n^2) a step (one layer)")

    def _shapes(self, U, I, G, K, R) -> list:
        return [[K, U], [R, G, U]]  # s~ and theta~

    def update(self, p, carried, D, A, D_h, u, W_h, when):
        s, theta = carried
        through_h = tf.einsum(f"{p}jal,{p}bj->{p}bal", W_h, s[..., 0, :])
        As = (tf.einsum(f"{p}bkqj,{p}bqj->{p}bkj", A, s)
              + tf.einsum(f"{p}bkaj,{p}baj->{p}bkj", D_h, through_h))
        nu = _signs(s.shape, when, s.dtype)
        nu_I = tf.einsum(f"{p}bkl,{p}brkgl,{p}br->{p}brgl", nu, D, u)
        rho0 = tf.sqrt((_norm(theta, 3) + EPSILON) / (_norm(As, 2) + EPSILON))
        rho1 = tf.sqrt((_norm(nu_I, 3) + EPSILON) / (_norm(nu, 2) + EPSILON))
        return (rho0[..., None, None] * As + rho1[..., None, None] * nu,
                theta / rho0[..., None, None, None] + nu_I / rho1[..., None, None, None])

    def contract(self, p, delta, carried):
        s, theta = carried
        return tf.einsum(f"{p}b,{p}brgl->{p}rgl", tf.einsum(f"{p}bkj,{p}bkj->{p}b", delta, s),
                         theta)

    def flops(self, U, I, G, K, R) -> int:
        return 2 * (U * G * U + 3 * R * G * U + K * K * U)


def _rows_product(a, W):
    """a [(P,) B, R] @ W [(P,) R, O] -> [(P,) B, O]."""
    return a @ W


def _rows_product_t(d, W):
    """d [(P,) B, O] @ W^T, W [(P,) R, O] -> [(P,) B, R]."""
    return d @ tf.linalg.matrix_transpose(W)


def _or_zeros(g, like):
    return tf.zeros_like(like) if g is None else g


def _norm(a, axes: int):
    """The Euclidean norm over the last `axes` axes: one per row."""
    return tf.sqrt(tf.reduce_sum(tf.square(a), axis=list(range(-axes, 0))))


def _loss_scale(model, ys):
    """What a step's loss is divided by, as model.loss averages the window: its steps
    and rows; for a number (the adding task) the targets that exist, per member."""
    if not model.regression:
        return tf.cast(tf.shape(ys)[0] * tf.shape(ys)[-1], model.dtype)
    present = tf.cast(tf.math.is_finite(tf.cast(ys, model.dtype)), model.dtype)
    return tf.maximum(tf.reduce_sum(present, axis=[0, -1]), 1.0)[..., None]  # [(P,) 1]


def _d_logits(model, logits, y_t, scale):
    """dL/dlogits of one step [(P,) B, C], L the window's mean loss."""
    if not model.regression:
        onehot = tf.one_hot(tf.cast(y_t, tf.int32), logits.shape[-1], dtype=logits.dtype)
        return (tf.nn.softmax(logits) - onehot) / scale
    target = tf.cast(y_t, logits.dtype)
    present = tf.math.is_finite(target)
    error = tf.where(present, logits[..., 0] - tf.where(present, target, 0.0), 0.0)
    return (2.0 * error / scale)[..., None]


def _signs(shape, when, dtype):
    """UORO's +-1 per state unit and row at step t of a window of T steps, a pure
    function of the seeds, the update's number and t (when: ((seeds, update), T, t)):
    the same on any machine and after a resume, each population member's its own."""
    from rnnlab.nn.model import uniform_hash

    key, T, t = when
    seeds, update = key if key is not None else (tf.constant(0, tf.uint32), 0)
    counter = tf.cast(update, tf.int64) * T + tf.cast(t, tf.int64)  # each step its own draw
    u = uniform_hash(seeds, counter, [1] + list(shape), stream=7)[0]  # [1, (P,) ...]: a step
    return tf.cast(tf.where(u < 0.5, -1.0, 1.0), dtype)
