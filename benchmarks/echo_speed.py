"""Seconds per epoch of the tutorial's experiment, four ways, side by side in one process.

    python benchmarks/echo_speed.py [--epochs 5] [--seed 0]

All four train on the same series from the same initial weights (numpy RandomState(seed),
the tutorial's order):
  rnnlab       rnnlab.train(): whole run as a user gets it (data, console lines,
               metrics.csv, figure.png), the TBPTT loop in one XLA program per epoch
  tutorial     the tutorial program as written (benchmarks/tutorial_tf1.py), TF1 graph
               mode, one Session.run per window, its plot every 100 windows (Agg
               backend); and the same with its plot calls left out
  tf.function  a per-window @tf.function (GradientTape, the tutorial's Adagrad) called
               from a Python loop
  keras        Keras 3 SimpleRNN(4, stateful=True) + Dense(2), train_on_batch per window

Seconds per epoch exclude the first epoch (tracing, compiling, warm-up); the whole-run
column includes it and everything after training (rnnlab's figure.png). The machine is
shared and noisy: read the ratios, which are measured in one run.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("MPLBACKEND", "Agg")

from rnnlab._tf import tf  # noqa: E402  (rnnlab's TF settings, as a user's run gets them)
from rnnlab.config import TrainConfig  # noqa: E402
from rnnlab.nn.model import EchoRNN, tutorial_init  # noqa: E402
from rnnlab.nn.optim import Adagrad  # noqa: E402
from rnnlab.data.series import echo_series, to_windows  # noqa: E402
from rnnlab.run.training import train  # noqa: E402
from tutorial_tf1 import run_tutorial  # noqa: E402


def bench_rnnlab(config):
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run = train(config.replace(out=os.path.join(tmp, "run"), plot="file"),
                    stdout=io.StringIO())
        total = time.perf_counter() - started
    return run.history.seconds, total, run.history.window_losses


def bench_tutorial(config, plot=True):
    started = time.perf_counter()
    losses, seconds = run_tutorial(config.seed, num_epochs=config.epochs, plot=plot)
    return seconds, time.perf_counter() - started, losses


def bench_tutorial_no_plot(config):
    return bench_tutorial(config, plot=False)


def epoch_data(rng, config):
    x, y = echo_series(rng, config.series_length, config.echo_step, config.batch_size)
    return (to_windows(x, config.truncation).astype(np.float32),
            to_windows(y, config.truncation).astype(np.int32))


def bench_tf_function(config):
    started = time.perf_counter()
    rng = np.random.RandomState(config.seed)
    model = EchoRNN(tutorial_init(rng, config.state_size))
    optimizer = Adagrad(model.params)
    rate = tf.constant(config.rate, tf.float32)

    @tf.function
    def train_window(x, y, state):
        with tf.GradientTape() as tape:
            logits, state = model.unroll(x, state)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.transpose(y), logits=logits))
        optimizer.apply(tape.gradient(loss, model.params), model.params, rate, 1)
        return loss, state

    seconds, losses = [], []
    for _ in range(config.epochs):
        t0 = time.perf_counter()
        xw, yw = epoch_data(rng, config)
        state = model.zero_state(config.batch_size)
        for i in range(config.num_windows):
            loss, state = train_window(xw[i], yw[i], state)
            losses.append(loss.numpy())
        seconds.append(time.perf_counter() - t0)
    return seconds, time.perf_counter() - started, np.array(losses)


def bench_keras(config):
    import keras

    started = time.perf_counter()
    rng = np.random.RandomState(config.seed)
    p = tutorial_init(rng, config.state_size)
    B, T, S = config.batch_size, config.truncation, config.state_size
    inputs = keras.Input(batch_shape=(B, T, 1))
    rnn = keras.layers.SimpleRNN(S, stateful=True, return_sequences=True)
    dense = keras.layers.Dense(2)
    model = keras.Model(inputs, dense(rnn(inputs)))
    rnn.set_weights([p["W"][:1], p["W"][1:], p["b"][0]])
    dense.set_weights([p["W2"], p["b2"][0]])
    model.compile(optimizer=keras.optimizers.Adagrad(config.rate,
                                                     initial_accumulator_value=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seconds, losses = [], []
    for _ in range(config.epochs):
        t0 = time.perf_counter()
        xw, yw = epoch_data(rng, config)
        rnn.reset_states()
        for i in range(config.num_windows):
            losses.append(model.train_on_batch(xw[i][..., None], yw[i]))
        seconds.append(time.perf_counter() - t0)
    return seconds, time.perf_counter() - started, np.array(losses)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = TrainConfig(epochs=args.epochs, seed=args.seed).validate()

    results = {}
    for name, bench in (("rnnlab", bench_rnnlab), ("tutorial as written", bench_tutorial),
                        ("tutorial, plot off", bench_tutorial_no_plot),
                        ("per-window tf.function", bench_tf_function),
                        ("Keras SimpleRNN stateful", bench_keras)):
        seconds, total, losses = bench(config)
        results[name] = (float(np.median(seconds[1:])), total, losses)
        print(f"  {name}: {results[name][0] * 1000:.1f} ms/epoch", file=sys.stderr)

    ours = results["rnnlab"][0]
    ref = results["tutorial as written"][2]
    print(f"Echo task, tutorial defaults, {config.epochs} epochs (first excluded), "
          f"seed {config.seed}, TensorFlow {tf.__version__}, {os.cpu_count()} CPUs\n")
    print("| program | ms per epoch | whole run, s | slower than rnnlab | first-epoch loss vs tutorial |")
    print("|---|---:|---:|---:|---:|")
    for name, (per_epoch, total, losses) in results.items():
        n = min(len(ref), len(losses), config.num_windows)
        gap = np.max(np.abs(losses[:n] - ref[:n]) / ref[:n])
        print(f"| {name} | {per_epoch * 1000:.1f} | {total:.2f} | {per_epoch / ours:.1f}x | "
              f"max rel. diff {gap:.1e} |")


if __name__ == "__main__":
    main()
