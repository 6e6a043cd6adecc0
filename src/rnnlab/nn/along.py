"""A model run along a stretch of data, window after window with the state carried, as
training reads its data: what eval, validation, diagnose and inspect all measure.

`along(model, x, y, window)` runs rows x [B, L] (symbols; the adding task's [B, L, 2])
from a zero state in windows of `window` steps (the last one padded, its padding
dropped) through one compiled program, and gives per position, [B, L]:
- loss: cross-entropy of the target in nats (a number: squared error, NaN where the
  target is missing),
- predicted: the most likely class (a number: the output itself), and probability,
  the probability the model gives it (a number: NaN),
- right: the prediction is the target (a number: within `tolerance` of it),
and, asked for, the states along the stretch: one [B, L, units] per state tensor, in
model.state_names's order (the state after each step). Dropout is off: the model's
plain forward pass.
"""
from __future__ import annotations

import weakref

import numpy as np

from rnnlab._tf import Compiled, tf

_SCORERS = weakref.WeakKeyDictionary()  # model -> {with_states: its compiled window}


def along(model, x: np.ndarray, y: np.ndarray, window: int, tolerance: float | None = None,
          states: bool = False) -> dict:
    rows, length = y.shape
    windows = -(-length // window)
    pad = windows * window - length
    widths = [(0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 2)
    x = np.pad(x, widths).astype(np.float32)
    y = np.pad(y, [(0, 0), (0, pad)], constant_values=np.nan if model.regression else 0)
    y = y.astype(np.float32 if model.regression else np.int32)
    score = _scorer(model, states, tolerance)
    state, pieces = model.zero_state(rows), []
    for w in range(windows):
        part = slice(w * window, (w + 1) * window)
        *outputs, state = score(tf.constant(x[:, part]), tf.constant(y[:, part]), state)
        pieces.append([o.numpy() for o in outputs])
    joined = [np.concatenate(p, axis=1)[:, :length] for p in zip(*pieces)]
    names = ["loss", "predicted", "probability", "right"]
    result = dict(zip(names, joined[:4]))
    if states:
        result["states"] = joined[4:]
    return result


def _scorer(model, states: bool, tolerance):
    scorers = _SCORERS.setdefault(model, {})
    if states not in scorers:
        scorers[states] = Compiled(lambda: tf.function(
            lambda x, y, s: _window(model, x, y, s, states, tolerance), jit_compile=True,
            autograph=False))
    return scorers[states]


def _window(model, x, y, state, states: bool, tolerance):
    """One window [B, T]: per-position scores [B, T], the states along it if asked, and
    the state after it."""
    logits, along_states = model.run(x, state)                        # [T, B, C]
    targets = tf.transpose(y)                                          # [T, B]
    if model.regression:
        output = logits[..., 0]
        present = tf.math.is_finite(targets)
        error = output - tf.where(present, targets, 0.0)
        loss = tf.where(present, error * error, np.nan)
        predicted, probability = output, tf.fill(tf.shape(output), np.nan)
        right = tf.abs(output - targets) < tolerance
    else:
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
        probability = tf.reduce_max(tf.nn.softmax(logits), axis=-1)
        right = predicted == targets
    scores = [tf.transpose(t) for t in (loss, predicted, probability, right)]
    kept = [tf.transpose(s, [1, 0, 2]) for s in along_states] if states else []
    return (*scores, *kept, tuple(s[-1] for s in along_states))


def gates_along(model, x: np.ndarray) -> list:
    """The gates' activations along x [B, L] from a zero state: per layer [B, L, gates *
    units] (the cell table's `gates_saved`), or [] for a cell without gates (or one
    running Keras's equations)."""
    cell = model.cell
    if cell.gates_saved is None:
        return []

    def step(state, x_t):
        h, new_state, gates = model.encode(x_t), [], []
        for layer, s in zip(model.cells, model.split_state(state)):
            W_x, b_x, W_h, b_h = cell.split(layer.W, layer.b, layer.units)
            s, saved = cell.step(h @ W_x + b_x, s, W_h, b_h)
            gates.append(saved[cell.gates_saved])
            h = s[0]
            new_state.extend(s)
        return tuple(new_state), tuple(gates)

    @tf.function(autograph=False)
    def run(x):
        time_major = tf.experimental.numpy.moveaxis(x, 1, 0)
        initial = (model.zero_state(x.shape[0]),
                   tuple(tf.zeros([x.shape[0], cell.gates * model.units]) for _ in model.cells))
        _, gates = tf.scan(lambda carry, x_t: step(carry[0], x_t), time_major,
                           initializer=initial)
        return [tf.transpose(g, [1, 0, 2]) for g in gates]

    return [g.numpy() for g in run(tf.constant(x, tf.float32))]
