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


def loss_and_grads(params, x, y, h0, loss_from=0):
    """Mean cross-entropy over steps loss_from.. and rows, and dL/d{W, b, W2, b2}."""
    W, W2 = params["W"], params["W2"]
    B, T = x.shape
    hs, ps = forward(params, x, h0)
    loss = -np.mean([np.log(ps[t][np.arange(B), y[:, t]]) for t in range(loss_from, T)])
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dz = ps[t].copy()
        dz[np.arange(B), y[:, t]] -= 1
        dz *= 0.0 if t < loss_from else 1.0 / (B * (T - loss_from))
        grads["W2"] += hs[t].T @ dz
        grads["b2"] += dz.sum(axis=0, keepdims=True)
        dh = dz @ W2.T + dh_next
        dpre = dh * (1 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        grads["W"] += np.hstack([x[:, t:t + 1], h_prev]).T @ dpre
        grads["b"] += dpre.sum(axis=0, keepdims=True)
        dh_next = dpre @ W[1:].T
    return loss, grads, hs[-1]


def tbptt(params, x, y, k1, k2, windows, lr=0.3):
    """TBPTT(k1, k2) spelled out: window i covers steps [i*k1, i*k1 + k2) of each row,
    its loss is that of its last k1 steps, the state after its first k1 steps (before
    the update) starts window i + 1; Adagrad as TF1's. Returns the final params."""
    params = {k: v.copy() for k, v in params.items()}
    acc = {k: np.full_like(v, 0.1) for k, v in params.items()}
    h = np.zeros((x.shape[0], params["W"].shape[1]))
    for i in range(windows):
        xs, ys = x[:, i * k1:i * k1 + k2], y[:, i * k1:i * k1 + k2]
        _, grads, _ = loss_and_grads(params, xs, ys, h, loss_from=k2 - k1)
        h = forward(params, xs[:, :k1], h)[0][-1]
        for k in params:
            acc[k] += grads[k] ** 2
            params[k] -= lr * grads[k] / np.sqrt(acc[k])
    return params
