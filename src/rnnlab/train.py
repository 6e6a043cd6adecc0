"""Truncated backpropagation through time, the story of a run from top to bottom."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from rnnlab._tf import tf

from rnnlab import runfiles, viz
from rnnlab.config import TrainConfig
from rnnlab.model import EchoRNN, tutorial_init
from rnnlab.optim import Adagrad
from rnnlab.tasks import echo_series, to_windows


def compile_window_runner(model: EchoRNN, optimizer: Adagrad, config: TrainConfig):
    """One XLA-compiled program that trains windows [start, stop) of an epoch.

    This is the TBPTT loop: each window is unrolled `truncation` steps and gets one
    Adagrad update; its final state is the next window's initial state, but no gradient
    flows across a window edge because the state enters each window as a plain input.

    x, y: [num_windows, batch, truncation] (the whole epoch, so the shapes never change
    and the program is traced once per run, whatever chunk is asked for).
    Returns per-window losses and correct-bit counts ([num_windows], only [start, stop)
    filled), the carried state [batch, S], and the softmax outputs of every window whose
    index is a multiple of `log_every` ([num_logged, T, batch, C]) for the figure.
    """
    n, batch, T = config.num_windows, config.batch_size, config.truncation
    every, C = config.log_every, config.num_classes
    num_logged = -(-n // every)

    def train_window(i, state, losses, correct, snapshots, x, y):
        loss, logits, state, grads = model.loss_and_grads(x[i], y[i], state)
        optimizer.apply(grads, model.params)
        # The tutorial's predicted class: 1 when P(class 0) < 0.5.
        predicted = tf.cast(logits[..., 1] > logits[..., 0], tf.int32)
        hits = tf.reduce_sum(tf.cast(predicted == tf.transpose(y[i]), tf.int32))
        losses = tf.tensor_scatter_nd_update(losses, [[i]], [loss])
        correct = tf.tensor_scatter_nd_update(correct, [[i]], [hits])
        snapshots = tf.cond(
            i % every == 0,
            lambda: tf.tensor_scatter_nd_update(snapshots, [[i // every]], [tf.nn.softmax(logits)]),
            lambda: snapshots)
        return i + 1, state, losses, correct, snapshots

    @tf.function(jit_compile=True, reduce_retracing=False, input_signature=[
        tf.TensorSpec([n, batch, T], tf.float32), tf.TensorSpec([n, batch, T], tf.int32),
        tf.TensorSpec([batch, model.state_size], tf.float32),
        tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
    def run_windows(x, y, state, start, stop):
        # An explicit while_loop: autograph's `for i in tf.range` would pass XLA a
        # maximum trip count, which XLA makes a compile-time constant (a recompile per chunk).
        carry = (start, state, tf.zeros([n]), tf.zeros([n], tf.int32),
                 tf.zeros([num_logged, T, batch, C]))
        _, state, losses, correct, snapshots = tf.while_loop(
            lambda i, *_: i < stop, lambda *c: train_window(*c, x, y), carry)
        return losses, correct, state, snapshots

    return run_windows


@dataclass
class History:
    """What a run measured: one loss and accuracy per window, the figure's snapshots."""

    losses: list = field(default_factory=list)       # per epoch: float32 [num_windows]
    accuracies: list = field(default_factory=list)   # per epoch: float32 [num_windows]
    seconds: list = field(default_factory=list)      # per epoch: wall time

    @property
    def window_losses(self) -> np.ndarray:
        return np.concatenate(self.losses) if self.losses else np.zeros(0, np.float32)

    @property
    def epoch_loss(self) -> np.ndarray:
        return np.array([l.mean() for l in self.losses])

    @property
    def epoch_accuracy(self) -> np.ndarray:
        return np.array([a.mean() for a in self.accuracies])


@dataclass
class Run:
    config: TrainConfig
    model: EchoRNN
    history: History
    out_dir: str | None = None
    live: object = None                            # the LiveFigure, when one was shown
    snapshots: list = field(default_factory=list)  # the figure's logged windows


def chunk_bounds(num_windows: int, log_every: int, live: bool):
    """Windows [start, stop) per compiled call.

    A live figure needs the program to come back at every logged window, so chunks end
    there: [0, 1), [1, 101), [101, 201), ... Otherwise one call trains the whole epoch
    (console lines and snapshots come back from it all the same).
    """
    if not live:
        return [(0, num_windows)]
    ends = list(range(1, num_windows, log_every)) + [num_windows]
    return list(zip([0] + ends[:-1], ends))


def train(config: TrainConfig = TrainConfig(), *, force: bool = False, stdout=None) -> Run:
    """Train the echo RNN as the tutorial does; write the run folder; return the Run.

    `config.seed` seeds numpy's RandomState, which draws W, W2, then each epoch's series
    in the tutorial's order, so a run can be compared with the tutorial program seeded
    with np.random.seed(seed).
    """
    out = stdout or sys.stdout
    config = config.resolved().validate()
    run_dir = runfiles.create_run_dir(config.out, force=force)
    runfiles.write_atomic(os.path.join(run_dir, "config.json"), config.to_json())
    metrics = runfiles.MetricsFile(os.path.join(run_dir, "metrics.csv"))

    rng = np.random.RandomState(config.seed)
    model = EchoRNN(tutorial_init(rng, config.state_size, config.num_classes))
    optimizer = Adagrad(config.learning_rate, model.params)
    run_windows = compile_window_runner(model, optimizer, config)

    plot = config.plot
    if plot == "auto":
        plot = "live" if viz.display_available() else "file"
    rows = config.batch_size
    live = viz.open_live_figure(config.truncation, rows) if plot == "live" else None
    if plot == "live" and live is None:
        plot = "file"

    n, every = config.num_windows, config.log_every
    history = History()
    snapshots = []
    for epoch in range(config.epochs):
        started = time.perf_counter()
        x, y = echo_series(rng, config.series_length, config.echo_step, config.batch_size)
        out.write(f"New data, epoch {epoch}\n")
        xw = to_windows(x, config.truncation).astype(np.float32)
        yw = to_windows(y, config.truncation).astype(np.int32)
        state = tf.zeros([config.batch_size, config.state_size])
        losses = np.zeros(n, np.float32)
        hits = np.zeros(n, np.int32)
        for start, stop in chunk_bounds(n, every, live is not None):
            chunk_losses, chunk_hits, state, snaps = run_windows(xw, yw, state, start, stop)
            losses[start:stop] = chunk_losses.numpy()[start:stop]
            hits[start:stop] = chunk_hits.numpy()[start:stop]
            snaps = snaps.numpy()
            for k in range(start + (-start) % every, stop, every):
                out.write(f"Step {k} Loss {str(losses[k])}\n")  # float32 as the tutorial prints it
                snapshots.append(viz.Snapshot(epoch, k, x=xw[k].astype(np.int64), y=yw[k],
                                              probs=snaps[k // every], num_losses=epoch * n + k + 1))
            if live is not None and (stop - 1) % every == 0:
                live.refresh(np.concatenate(history.losses + [losses[:stop]]), snapshots[-1])
        accuracies = hits / np.float32(config.batch_size * config.truncation)
        history.losses.append(losses)
        history.accuracies.append(accuracies.astype(np.float32))
        metrics.add_epoch(epoch, losses, accuracies)
        history.seconds.append(time.perf_counter() - started)
        out.write(f"Epoch {epoch} done: mean loss {losses.mean():.4f}, accuracy "
                  f"{accuracies.mean():.4f}, {history.seconds[-1]:.3f} s\n")

    all_losses = history.window_losses
    if snapshots and plot in ("file", "live"):
        viz.save_png(os.path.join(run_dir, "figure.png"), all_losses, snapshots[-1],
                     config.truncation, rows)
    if snapshots and config.gif:
        viz.save_gif(config.gif, all_losses, snapshots, config.truncation, rows)
    return Run(config, model, history, run_dir, live=live, snapshots=snapshots)
