"""The tutorial's vanilla RNN, written from scratch: parameters W, b, W2, b2, one step,
and backpropagation through a window written out by hand."""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf


def tutorial_init(rng: np.random.RandomState, state_size: int, num_classes: int = 2):
    """Initial weights in the tutorial's order: W = rand(S+1, S), then W2 = rand(S, C)."""
    W = rng.rand(state_size + 1, state_size)
    b = np.zeros((1, state_size))
    W2 = rng.rand(state_size, num_classes)
    b2 = np.zeros((1, num_classes))
    return {"W": W, "b": b, "W2": W2, "b2": b2}


class EchoRNN(tf.Module):
    """state_t = tanh([x_t, state_{t-1}] @ W + b);  logits_t = state_t @ W2 + b2."""

    def __init__(self, params: dict, dtype=tf.float32, name: str = "echo_rnn"):
        super().__init__(name=name)
        self.W = tf.Variable(params["W"], dtype=dtype, name="W")
        self.b = tf.Variable(params["b"], dtype=dtype, name="b")
        self.W2 = tf.Variable(params["W2"], dtype=dtype, name="W2")
        self.b2 = tf.Variable(params["b2"], dtype=dtype, name="b2")

    @property
    def state_size(self) -> int:
        return int(self.W.shape[1])

    @property
    def params(self):
        """The trainable parameters, in the tutorial's order."""
        return [self.W, self.b, self.W2, self.b2]

    def step(self, x_t, state):
        """x_t: [batch, 1], state: [batch, S] -> (logits [batch, C], state [batch, S])."""
        state = tf.tanh(tf.concat([x_t, state], axis=1) @ self.W + self.b)
        return state @ self.W2 + self.b2, state

    def unroll(self, x_window, state):
        """x_window: [batch, T] -> (logits [T, batch, C], states [T, batch, S]).

        The loop over the T steps is unrolled at trace time, as in the tutorial's graph.
        """
        logits, states = [], []
        for t in range(x_window.shape[1]):
            logits_t, state = self.step(x_window[:, t:t + 1], state)
            logits.append(logits_t)
            states.append(state)
        return tf.stack(logits), tf.stack(states)

    def loss_and_grads(self, x_window, y_window, state):
        """One window of truncated BPTT: the loss and its gradients, written out by hand.

        x_window, y_window: [batch, T]; state: [batch, S] (a constant: no gradient flows
        into the previous window). Returns loss (mean cross-entropy over steps and rows),
        logits [T, batch, C], the final state [batch, S], and grads for W, b, W2, b2.

        XLA runs these ~35 products several times faster than the ~120 that automatic
        differentiation of the unrolled graph produces (per-step dW terms, slice
        gradients); tests check both against a float64 NumPy reference.
        """
        T = x_window.shape[1]
        inputs, states = [], []
        h = state
        for t in range(T):
            inputs.append(tf.concat([x_window[:, t:t + 1], h], axis=1))
            h = tf.tanh(inputs[-1] @ self.W + self.b)
            states.append(h)
        H, I = tf.stack(states), tf.stack(inputs)          # [T, B, S], [T, B, S+1]
        logits = H @ self.W2 + self.b2                     # [T, B, C]
        labels = tf.transpose(y_window)                    # [T, B]
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

        count = tf.cast(tf.size(labels), logits.dtype)
        d_logits = (tf.nn.softmax(logits)
                    - tf.one_hot(labels, logits.shape[-1], dtype=logits.dtype)) / count
        d_W2 = tf.einsum("tbs,tbc->sc", H, d_logits)
        d_b2 = tf.reduce_sum(d_logits, axis=[0, 1])[None]
        d_H = d_logits @ tf.transpose(self.W2)             # from each step's own logits
        W_state_T = tf.transpose(self.W[1:])
        d_next, d_pre = tf.zeros_like(h), [None] * T
        for t in reversed(range(T)):                       # through tanh and back in time
            d_pre[t] = (d_H[t] + d_next) * (1.0 - states[t] * states[t])
            d_next = d_pre[t] @ W_state_T
        d_pre = tf.stack(d_pre)
        d_W = tf.einsum("tbi,tbs->is", I, d_pre)
        d_b = tf.reduce_sum(d_pre, axis=[0, 1])[None]
        return loss, logits, h, [d_W, d_b, d_W2, d_b2]
