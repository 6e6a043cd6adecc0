"""What truncation costs a gradient: over one stretch of data, the gradient TBPTT(k)
gives (windows of k steps, the state carried across them, each window's gradient
stopping at its start) against the exact one (backpropagation through all of it), for
k = 1 .. K, as Aicher et al. (2019) measure it: their cosine and the relative error
|g_k - g| / |g|.

Both weigh every step of the stretch alike: the loss is the mean over its steps and
rows, and g_k is the sum of its windows' gradients of that same loss. So one forward
pass serves every k, and g_k is the exact backward pass with the gradient carried
between steps cut where a window starts (nn/backprop.py's `keep`): one compiled
program for all of them. For cells with a written step back.
"""
from __future__ import annotations

import numpy as np

from rnnlab._tf import Compiled, tf
from rnnlab.nn import backprop


def window_starts(length: int, k: int) -> np.ndarray:
    """keep [length]: 0 where step t + 1 starts a window of k steps (t + 1 = k, 2k, ...)."""
    keep = np.ones(length)
    keep[k - 1:length - 1:k] = 0.0
    return keep


def truncation_bias(model, x: np.ndarray, y: np.ndarray, ks, state=None) -> dict:
    """{"k": ks, "cosine": [..], "relative_error": [..], "exact": the exact gradient's
    norm}: TBPTT(k)'s gradient over the stretch x, y [rows, L] against the exact one,
    from `state` (default zeros)."""
    rows, length = y.shape
    state = model.zero_state(rows) if state is None else state
    x = tf.constant(x, tf.float32)
    y = tf.constant(y, tf.float32 if model.regression else tf.int32)
    grads = Compiled(lambda: tf.function(
        lambda keep: _flat(backprop.loss_and_grads(model, x, y, state, keep=keep)[3]),
        jit_compile=True, autograph=False))
    dtype = model.W2.dtype
    exact = grads(tf.ones([length], dtype)).numpy().astype(np.float64)
    cosines, errors = [], []
    for k in ks:
        g = grads(tf.constant(window_starts(length, k), dtype)).numpy().astype(np.float64)
        cosines.append(float(g @ exact / max(np.linalg.norm(g) * np.linalg.norm(exact), 1e-300)))
        errors.append(float(np.linalg.norm(g - exact) / max(np.linalg.norm(exact), 1e-300)))
    return {"k": list(ks), "cosine": cosines, "relative_error": errors,
            "exact": float(np.linalg.norm(exact))}


def _flat(grads):
    return tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)
