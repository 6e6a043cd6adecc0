"""An independent float64 NumPy reference: forward pass and hand-written BPTT of one window,
in the style of min-char-rnn. Shares no code with rnnlab."""
import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forward(params, x, h0):
    """x: [B, T] -> states hs[t] ([B, S]), probabilities ps[t] ([B, C])."""
    W, b, W2, b2 = (params[k] for k in ("W", "b", "W2", "b2"))
    hs, ps, h = [], [], h0
    for t in range(x.shape[1]):
        h = np.tanh(np.hstack([x[:, t:t + 1], h]) @ W + b)
        hs.append(h)
        ps.append(softmax(h @ W2 + b2))
    return hs, ps


def loss_and_grads(params, x, y, h0):
    """Mean cross-entropy over steps and rows, and dL/d{W, b, W2, b2}."""
    W, W2 = params["W"], params["W2"]
    B, T = x.shape
    hs, ps = forward(params, x, h0)
    loss = -np.mean([np.log(ps[t][np.arange(B), y[:, t]]) for t in range(T)])
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dz = ps[t].copy()
        dz[np.arange(B), y[:, t]] -= 1
        dz /= B * T
        grads["W2"] += hs[t].T @ dz
        grads["b2"] += dz.sum(axis=0, keepdims=True)
        dh = dz @ W2.T + dh_next
        dpre = dh * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        grads["W"] += np.hstack([x[:, t:t + 1], h_prev]).T @ dpre
        grads["b"] += dpre.sum(axis=0, keepdims=True)
        dh_next = dpre @ W[1:].T
    return loss, grads, hs[-1]
