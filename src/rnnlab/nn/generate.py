"""Symbols drawn from a model one at a time, each fed back in (sampling text)."""
from __future__ import annotations

import weakref

import numpy as np

from rnnlab._tf import tf

_STEPS = weakref.WeakKeyDictionary()  # model -> its step as a tf.function, traced once


def compiled_step(model):
    if model not in _STEPS:
        _STEPS[model] = tf.function(model.step)
    return _STEPS[model]


def generate(model, prime: list, length: int, temperature: float,
             rng: np.random.RandomState, piece: int = 100):
    """Feed the symbol ids `prime` (one at least) through `model` from a zero state, then
    draw `length` ids one at a time from softmax(logits / temperature), each fed back
    in; yields the drawn ids, up to `piece` at a time."""
    step = compiled_step(model)
    state = model.zero_state(1)
    for i in prime[:-1]:
        _, state = step(tf.constant([i], tf.float32), state)
    current, out = prime[-1], []
    for n in range(length):
        logits, state = step(tf.constant([current], tf.float32), state)
        z = logits.numpy()[0].astype(np.float64)
        p = np.exp((z - z.max()) / temperature)  # in this order, any temperature > 0 is finite
        current = int(rng.choice(len(p), p=p / p.sum()))
        out.append(current)
        if len(out) == piece or n == length - 1:
            yield out
            out = []
