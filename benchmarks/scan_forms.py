"""How to scan h_t = a_t h_{t-1} + b_t over a window under XLA, forward and backward, side by
side in one run: why nn/scan_cells.py scans pairwise in linear space, not in the log space
minGRU's paper writes (cumsum and cumulative_logsumexp, for PyTorch), nor by doubling.

    python benchmarks/scan_forms.py [--truncations 25 100 200] [--rows 32] [--units 512]

  log space   log h_t = A_t + logcumsumexp(log h_0, log b_s - A_s), A_t = cumsum(log a)
  doubling    Hillis and Steele's scan in linear space: log2 T passes over all T steps
  pairwise    steps combined in pairs, the pairs scanned likewise: O(T) work (rnnlab's)
  sequential  tf.scan, one element-wise step after another

Each is one XLA-compiled float32 function of (log a, log b) returning a loss's gradients
with respect to both; milliseconds per call (median of 10 after a warm-up), how many
times faster than the log space's, and each form's error: the largest difference from
the sequential form's gradients in float64, relative to their largest magnitude.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))


def log_space(tf, log_a, log_b, h0):
    A = tf.cumsum(log_a, axis=0)
    terms = tf.concat([tf.math.log(h0)[None], log_b - A], axis=0)
    return tf.exp(A + tf.math.cumulative_logsumexp(terms, axis=0)[1:])


def doubling(tf, log_a, log_b, h0):
    a, b = tf.exp(log_a), tf.exp(log_b)
    b = tf.concat([b[:1] + a[:1] * h0[None], b[1:]], axis=0)
    span = 1
    while span < b.shape[0]:  # after the pass of span d: b_t sums the last 2d steps
        b = b + a * tf.concat([tf.zeros_like(b[:span]), b[:-span]], 0)
        a = a * tf.concat([tf.ones_like(a[:span]), a[:-span]], 0)
        span *= 2
    return b


def pairwise(tf, log_a, log_b, h0):
    from rnnlab.nn.scan_cells import linear_scan

    return linear_scan(tf.exp(log_a), tf.exp(log_b), h0)


def sequential(tf, log_a, log_b, h0):
    return tf.scan(lambda h, ab: ab[0] * h + ab[1], (tf.exp(log_a), tf.exp(log_b)),
                   initializer=h0)


FORMS = {"log space": log_space, "doubling": doubling, "pairwise": pairwise,
         "sequential": sequential}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truncations", type=int, nargs="+", default=[25, 100, 200])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--units", type=int, default=304, help="minGRU's at the LSTM's size")
    args = parser.parse_args()
    from rnnlab._tf import tf  # rnnlab's settings: XLA's flags, TensorFlow's logs quiet

    def gradients_of(form, log_a, log_b, h0, weights):
        with tf.GradientTape() as tape:
            tape.watch([log_a, log_b])
            loss = tf.reduce_sum(form(tf, log_a, log_b, h0) * weights)
        return tape.gradient(loss, [log_a, log_b])

    print(f"{'T':>4}  {'form':<11} {'ms':>9}  {'vs log space':>12}  {'error':>8}")
    for T in args.truncations:
        rng = np.random.RandomState(0)
        shape = (T, args.rows, args.units)
        log_a = tf.constant(-rng.uniform(0.01, 3, shape).astype(np.float32))
        log_b = tf.constant(-rng.uniform(0, 3, shape).astype(np.float32))
        h0 = tf.constant(rng.uniform(0.1, 1, shape[1:]).astype(np.float32))
        weights = tf.range(T, dtype=tf.float32)[:, None, None] / T
        reference = [g.numpy() for g in gradients_of(
            sequential, *(tf.cast(t, tf.float64) for t in (log_a, log_b, h0, weights)))]
        base = None
        for name, form in FORMS.items():
            compiled = tf.function(
                lambda log_a, log_b, form=form: gradients_of(form, log_a, log_b, h0, weights),
                jit_compile=True)
            out = [g.numpy() for g in compiled(log_a, log_b)]
            times = []
            for _ in range(10):
                started = time.perf_counter()
                [g.numpy() for g in compiled(log_a, log_b)]
                times.append((time.perf_counter() - started) * 1000)
            ms = statistics.median(times)
            base = base or ms
            error = max(float(np.max(np.abs(o - r)) / np.max(np.abs(r)))
                        for o, r in zip(out, reference))
            print(f"{T:>4}  {name:<11} {ms:>9.1f}  {base / ms:>11.1f}x  {error:>8.1e}",
                  flush=True)


if __name__ == "__main__":
    main()
