"""The scan cells: recurrences linear in the state, element-wise, so that a whole window
trains as a few large products and a parallel scan instead of T small sequential ones.

- minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): z = sigmoid(x W_z + b_z),
  h~ = g(x W_h + b_h), h_t = (1 - z) h_{t-1} + z h~;
- minLSTM (the same paper): f, i from x alone, normalised to f' = f / (f + i),
  i' = i / (f + i); h_t = f' h_{t-1} + i' g(x W_h + b_h);
- the LRU (Orvieto et al. 2023, the linear recurrent unit): a complex diagonal
  recurrence x_t = lambda x_{t-1} + gamma (B u_t), y_t = Re(C x_t) + D u_t, with the
  exponential parametrisation lambda = exp(-exp(nu_log) + i exp(theta_log)), the
  normalisation gamma = sqrt(1 - |lambda|^2) and the ring initialisation
  (|lambda| uniform in [R_MIN, R_MAX], phase in [0, MAX_PHASE]).

Every cell's window is h_t = a_t h_{t-1} + b_t with a_t and b_t known for all steps at
once (from the inputs alone), the carried state folded into b_0: a work-efficient
parallel scan (neighbouring steps combined pairwise, the half as many pairs scanned the
same way, the steps between filled in: O(T) work in log2 T levels), the LRU's in
complex numbers. It never divides: where gates saturate, products of a underflow to 0,
which is their value, and nothing overflows (|a| < 1). Scanning by doubling instead
(Hillis and Steele, O(T log T) work) took 7x-9x as long at T = 100 and 12x at T = 200
(benchmarks/scan_forms.py: 64 rows of 304 units, forward and backward).

The paper writes minGRU's and minLSTM's scan in log space, log h_t = A_t +
logcumsumexp(log h_0, log b_s - A_s) with A_t = cumsum(log a), for PyTorch. Under XLA
on a CPU, cumulative_logsumexp and its gradient are slow: that form took 60x to 90x
as long as the pairwise scan at T = 25, 100 and 200 (two runs), and in float32 its
A_t + logcumsumexp(..) loses digits as |A_t| grows (gradients off by 4e-5 of their
largest at T = 100, 1e-4 at T = 200; the pairwise scan's: 1e-7, as a sequential loop's).
rnnlab keeps the paper's gates (g(x) = x + 0.5
for x >= 0, sigmoid(x) else, so h > 0 as the paper's log space needs; minLSTM's
normalised f' and i', computed from log f and log i) and scans in linear space. Each
cell's step form (one step at a time: predict, sample, export) computes the same
numbers.

Each cell is one block of a stacked model, as the papers stack them for language
models (nn/layers.py's ScanBlock): pre-norm residual blocks, u + out(cell(rmsnorm(u)))
then + MLP(rmsnorm(.)) (4x wide, GELU), the cell's hidden width EXPANSION times the
model's for minGRU and minLSTM (the LRU's state is as wide as the model), an input
projection in the first block where the inputs are not the model's width.
"""
from __future__ import annotations

import math

import numpy as np

from rnnlab import lazytf as tf
from rnnlab.nn import inits

EXPANSION = 2      # minGRU's and minLSTM's hidden width, per unit of the model's
FEED_FORWARD = 4   # the block's MLP width, per unit of the model's
R_MIN, R_MAX, MAX_PHASE = 0.5, 0.99, 2 * math.pi  # the LRU's ring


def glorot(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """A [fan_in, fan_out] matrix drawn as nn/inits.py's Glorot draws one."""
    return inits.glorot(rng, fan_in, fan_out, (fan_in, fan_out))


def g(x):
    return tf.where(x >= 0, x + 0.5, tf.sigmoid(x))


def linear_scan(a, b, h0):
    """h_t = a_t h_{t-1} + b_t for t = 0..T-1 from h0: b [T, B, n], a [T, B or 1, n],
    h0 [B, n], real or complex -> [T, B, n]."""
    return _pairwise_scan(a, tf.concat([b[:1] + a[:1] * h0[None], b[1:]], axis=0))


def _pairwise_scan(a, b):
    """h_t = a_t h_{t-1} + b_t from h_{-1} = 0. Steps 2k and 2k + 1 together are one step
    h_{2k+1} = (a_{2k+1} a_{2k}) h_{2k-1} + (a_{2k+1} b_{2k} + b_{2k+1}): scanned, half as
    long; then h_{2k} = a_{2k} h_{2k-1} + b_{2k}."""
    T = b.shape[0]
    if T == 1:
        return b
    if T % 2:  # one step more that changes nothing, so that the steps pair up
        a = tf.concat([a, tf.ones_like(a[:1])], axis=0)
        b = tf.concat([b, tf.zeros_like(b[:1])], axis=0)
    odd = _pairwise_scan(a[1::2] * a[0::2], a[1::2] * b[0::2] + b[1::2])  # h_1, h_3, ..
    before = tf.concat([tf.zeros_like(odd[:1]), odd[:-1]], axis=0)        # h_-1, h_1, ..
    even = a[0::2] * before + b[0::2]                                      # h_0, h_2, ..
    both = tf.stack([even, odd], axis=1)                                   # [T / 2, 2, ..]
    return tf.reshape(both, tf.concat([[-1], tf.shape(b)[1:]], 0))[:T]


class MinGRU:
    name, parts, params = "mingru", ("h",), ("W_z", "b_z", "W_h", "b_h")
    projects_out = True  # its state, EXPANSION x wide, goes back to the model's width

    def hidden(self, width: int) -> int:
        return EXPANSION * width

    def weights(self, width: int, hidden: int) -> int:
        return 2 * (width + 1) * hidden

    def init(self, rng, width: int, hidden: int) -> dict:
        return {"W_z": glorot(rng, width, hidden), "b_z": np.zeros(hidden),
                "W_h": glorot(rng, width, hidden), "b_h": np.zeros(hidden)}

    def window(self, p, U, state):
        z = tf.sigmoid(U @ p["W_z"] + p["b_z"])
        H = linear_scan(1.0 - z, z * g(U @ p["W_h"] + p["b_h"]), state[0])
        return H, (H,)

    def step(self, p, u, state):
        z = tf.sigmoid(u @ p["W_z"] + p["b_z"])
        h = (1.0 - z) * state[0] + z * g(u @ p["W_h"] + p["b_h"])
        return h, (h,)


class MinLSTM:
    name, parts = "minlstm", ("h",)
    params = ("W_f", "b_f", "W_i", "b_i", "W_h", "b_h")
    projects_out = True

    def hidden(self, width: int) -> int:
        return EXPANSION * width

    def weights(self, width: int, hidden: int) -> int:
        return 3 * (width + 1) * hidden

    def init(self, rng, width: int, hidden: int) -> dict:
        out = {}
        for gate in ("f", "i", "h"):
            out[f"W_{gate}"], out[f"b_{gate}"] = glorot(rng, width, hidden), np.zeros(hidden)
        return out

    @staticmethod
    def _gates(p, u):
        """f' = f / (f + i) = sigmoid(log f - log i), i' = 1 - f', exact where f and i
        both underflow."""
        log_f = -tf.nn.softplus(-(u @ p["W_f"] + p["b_f"]))
        log_i = -tf.nn.softplus(-(u @ p["W_i"] + p["b_i"]))
        return tf.sigmoid(log_f - log_i), tf.sigmoid(log_i - log_f)

    def window(self, p, U, state):
        f, i = self._gates(p, U)
        H = linear_scan(f, i * g(U @ p["W_h"] + p["b_h"]), state[0])
        return H, (H,)

    def step(self, p, u, state):
        f, i = self._gates(p, u)
        h = f * state[0] + i * g(u @ p["W_h"] + p["b_h"])
        return h, (h,)


class LRU:
    name, parts = "lru", ("re", "im")
    params = ("nu_log", "theta_log", "gamma_log", "B_re", "B_im", "C_re", "C_im", "D")
    projects_out = False  # C does

    def hidden(self, width: int) -> int:
        return width

    def weights(self, width: int, hidden: int) -> int:
        return 3 * hidden + 4 * width * hidden + width  # nu, theta, gamma; B, C; D

    def init(self, rng, width: int, hidden: int) -> dict:
        """The paper's ring initialisation and its normalised, Glorot-scaled B and C."""
        u1, u2 = rng.uniform(size=hidden), rng.uniform(size=hidden)
        nu_log = np.log(-0.5 * np.log(u1 * (R_MAX ** 2 - R_MIN ** 2) + R_MIN ** 2))
        theta_log = np.log(MAX_PHASE * u2)
        modulus = np.exp(-np.exp(nu_log))
        return {"nu_log": nu_log, "theta_log": theta_log,
                "gamma_log": np.log(np.sqrt(1 - modulus ** 2)),
                "B_re": rng.normal(size=(width, hidden)) / np.sqrt(2 * width),
                "B_im": rng.normal(size=(width, hidden)) / np.sqrt(2 * width),
                "C_re": rng.normal(size=(hidden, width)) / np.sqrt(hidden),
                "C_im": rng.normal(size=(hidden, width)) / np.sqrt(hidden),
                "D": rng.normal(size=width)}

    @staticmethod
    def _lambda(p):
        modulus = tf.exp(-tf.exp(p["nu_log"]))
        phase = tf.exp(p["theta_log"])
        return tf.complex(modulus * tf.cos(phase), modulus * tf.sin(phase))

    @staticmethod
    def _inputs(p, U):
        gamma = tf.exp(p["gamma_log"])
        return tf.complex((U @ p["B_re"]) * gamma, (U @ p["B_im"]) * gamma)

    @staticmethod
    def _outputs(p, x, U):
        """Re(C x) + D u; the state as its real and imaginary parts."""
        x_re, x_im = tf.math.real(x), tf.math.imag(x)
        return x_re @ p["C_re"] - x_im @ p["C_im"] + U * p["D"], (x_re, x_im)

    def window(self, p, U, state):
        b = self._inputs(p, U)
        a = tf.ones_like(b[..., :1, :]) * self._lambda(p)  # [T, (P,) 1, n]: every row's
        return self._outputs(p, linear_scan(a, b, tf.complex(*state)), U)

    def step(self, p, u, state):
        x = self._lambda(p) * tf.complex(*state) + self._inputs(p, u)
        return self._outputs(p, x, u)


SCANS = {cell.name: cell for cell in (MinGRU(), MinLSTM(), LRU())}


def block_init(scan, rng: np.random.RandomState, inputs: int, width: int) -> dict:
    """A block's weights: its input projection (first block, inputs not `width` wide),
    two RMSNorm scales, the cell's, the cell's output projection (minGRU, minLSTM),
    and its MLP's, the projections Glorot's."""
    hidden = scan.hidden(width)
    weights = {}
    if inputs != width:
        weights["W_in"] = glorot(rng, inputs, width)
    weights["norm_1"] = np.ones(width)
    weights.update(scan.init(rng, width, hidden))
    if scan.projects_out:
        weights["W_out"] = glorot(rng, hidden, width)
    weights["norm_2"] = np.ones(width)
    weights["W_ff_1"] = glorot(rng, width, FEED_FORWARD * width)
    weights["b_ff_1"] = np.zeros(FEED_FORWARD * width)
    weights["W_ff_2"] = glorot(rng, FEED_FORWARD * width, width)
    weights["b_ff_2"] = np.zeros(width)
    return weights


def block_weights(scan, inputs: int, width: int) -> int:
    """How many weights block_init draws, in closed form."""
    hidden = scan.hidden(width)
    count = (inputs * width if inputs != width else 0) + 2 * width      # W_in, norms
    count += scan.weights(width, hidden) + (hidden * width if scan.projects_out else 0)
    return count + 2 * FEED_FORWARD * width * width + (FEED_FORWARD + 1) * width  # MLP


BLOCK = ("W_in", "norm_1", "W_out", "norm_2", "W_ff_1", "b_ff_1", "W_ff_2", "b_ff_2")
