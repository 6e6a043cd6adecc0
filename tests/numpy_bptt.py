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


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax_grad(ps, y, t, loss_from, T):
    """dL/dlogits at step t of the mean cross-entropy over steps loss_from.. and rows."""
    B = y.shape[0]
    dz = ps[t].copy()
    dz[np.arange(B), y[:, t]] -= 1
    return dz * (0.0 if t < loss_from else 1.0 / (B * (T - loss_from)))


def gated_loss_and_grads(cell, params, xs, y, state, loss_from=0):
    """One LSTM or GRU layer (Keras's gate order and biases) and a softmax output layer,
    forward and backward written out step by step.

    xs: [B, T, I] inputs, y: [B, T] classes, state: (h0, c0) for the LSTM, (h0,) for the
    GRU. Returns (loss, grads {W, b, W2, b2}, final state tuple)."""
    W, b, W2, b2 = (params[k] for k in ("W", "b", "W2", "b2"))
    B, T, I = xs.shape
    U = W.shape[1] // (4 if cell == "lstm" else 3)
    Wx, Wh = W[:I], W[I:]
    h, c = state[0], state[1] if cell == "lstm" else None
    steps, ps = [], []
    for t in range(T):  # forward: keep what the backward pass reads
        x = xs[:, t]
        if cell == "lstm":
            z = x @ Wx + h @ Wh + b[0]
            i, f, g, o = sigmoid(z[:, :U]), sigmoid(z[:, U:2*U]), np.tanh(z[:, 2*U:3*U]), sigmoid(z[:, 3*U:])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            steps.append(dict(x=x, h=h, c=c, i=i, f=f, g=g, o=o, c_new=c_new))
            h, c = h_new, c_new
        else:
            fx, fh = x @ Wx + b[0], h @ Wh + b[1]
            zg = sigmoid(fx[:, :U] + fh[:, :U])
            r = sigmoid(fx[:, U:2*U] + fh[:, U:2*U])
            n = np.tanh(fx[:, 2*U:] + r * fh[:, 2*U:])
            steps.append(dict(x=x, h=h, z=zg, r=r, n=n, hn=fh[:, 2*U:]))
            h = zg * h + (1 - zg) * n
        steps[-1]["h_new"] = h
        ps.append(softmax(h @ W2 + b2))
    loss = -np.mean([np.log(ps[t][np.arange(B), y[:, t]]) for t in range(loss_from, T)])
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next, dc_next = np.zeros((B, U)), np.zeros((B, U))
    for t in reversed(range(T)):
        s = steps[t]
        dlogits = _softmax_grad(ps, y, t, loss_from, T)
        grads["W2"] += s["h_new"].T @ dlogits
        grads["b2"] += dlogits.sum(axis=0, keepdims=True)
        dh = dlogits @ W2.T + dh_next
        if cell == "lstm":
            tc = np.tanh(s["c_new"])
            dc = dc_next + dh * s["o"] * (1 - tc ** 2)
            dz = np.hstack([dc * s["g"] * s["i"] * (1 - s["i"]),
                            dc * s["c"] * s["f"] * (1 - s["f"]),
                            dc * s["i"] * (1 - s["g"] ** 2),
                            dh * tc * s["o"] * (1 - s["o"])])
            grads["W"] += np.vstack([s["x"].T @ dz, s["h"].T @ dz])
            grads["b"] += dz.sum(axis=0, keepdims=True)
            dh_next, dc_next = dz @ Wh.T, dc * s["f"]
        else:
            zg, r, n = s["z"], s["r"], s["n"]
            dn = dh * (1 - zg) * (1 - n ** 2)
            dzg = dh * (s["h"] - n) * zg * (1 - zg)
            dr = dn * s["hn"] * r * (1 - r)
            dfx = np.hstack([dzg, dr, dn])
            dfh = np.hstack([dzg, dr, dn * r])
            grads["W"] += np.vstack([s["x"].T @ dfx, s["h"].T @ dfh])
            grads["b"] += np.vstack([dfx.sum(axis=0), dfh.sum(axis=0)])
            dh_next = dh * zg + dfh @ Wh.T
    final = (h, c) if cell == "lstm" else (h,)
    return loss, grads, final
