"""Many networks of one shape trained at once: a population axis in front of every
weight, input and state, so one compiled program trains them all.

Members differ in what does not change array shapes: seed (so initial weights and data),
learning rate, echo step, initialisation. Each member draws from its own
RandomState(seed) in the order a single run does, so member i computes what
`rnnlab train` with its settings computes (tests/test_population.py), up to float
rounding (a single tutorial run differentiates by hand, the population automatically).
"""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf
from rnnlab.config import MEMBER_SETTINGS, POPULATION_CELLS, TrainConfig, shape_key
from rnnlab.model import RNN, init_params
from rnnlab.optim import Adagrad
from rnnlab.tasks import ADDING_TOLERANCE, make_series, to_windows

class PopulationRNN(RNN):
    """P independent networks: weights [P, ...], inputs [P, batch, T, ...], states
    [P, batch, units]. The cells' equations are the single network's, as batched products."""

    time_axis = 2

    def __init__(self, members: list, cell: str, regression: bool = False):
        stacked = {
            "cells": [{k: np.stack([m["cells"][layer][k] for m in members]) for k in ("W", "b")}
                      for layer in range(len(members[0]["cells"]))],
            "W2": np.stack([m["W2"] for m in members]),
            "b2": np.stack([m["b2"] for m in members])}
        super().__init__(stacked, cell, regression, name="population")
        self.size = len(members)

    def encode(self, x_t):
        """[P, batch] symbols -> [P, batch, inputs]; [P, batch, channels] as they are."""
        if x_t.shape.rank == 3:
            return x_t
        if self.num_inputs == 1:
            return tf.cast(x_t, tf.float32)[..., None]
        return tf.one_hot(tf.cast(x_t, tf.int32), self.num_inputs)

    def zero_state(self, batch: int) -> tuple:
        return tuple(tf.zeros([self.size] + list(t.shape)) for c in self.cells
                     for t in c.zero_state(batch))

    def loss_and_grads(self, x_window, y_window, state, loss_from: int = 0,
                       carry_at: int | None = None):
        """As RNN.loss_and_grads, with one loss per member ([P]). The gradient of their
        sum is each member's own gradient, since no weight is shared between members."""
        with tf.GradientTape() as tape:
            logits, carried = self.unroll(x_window, state, carry_at)
            losses = member_losses(logits, tf.transpose(y_window, [2, 0, 1]), loss_from,
                                   self.regression)
            total = tf.reduce_sum(losses)
        return losses, logits, carried, tape.gradient(total, self.params)


def member_losses(logits, targets, loss_from: int, regression: bool):
    """logits [T, P, batch, C], targets [T, P, batch] -> each member's mean loss over
    steps loss_from.. (cross-entropy; adding task: squared error over present targets)."""
    logits, targets = logits[loss_from:], targets[loss_from:]
    if not regression:
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        return tf.reduce_mean(ce, axis=[0, 2])
    present = tf.math.is_finite(targets)
    errors = tf.where(present, logits[..., 0] - tf.where(present, targets, 0.0), 0.0)
    count = tf.reduce_sum(tf.cast(present, logits.dtype), axis=[0, 2])
    return tf.reduce_sum(errors * errors, axis=[0, 2]) / tf.maximum(count, 1.0)


def compile_population_runner(model: PopulationRNN, optimizer: Adagrad, config: TrainConfig):
    """One XLA program that trains a whole epoch of windows for every member; the
    population version of tbptt.compile_window_runner (same TBPTT(k1, k2) windows).
    Returns losses and correct counts, [num_windows, P]."""
    n, batch, T, P = config.num_windows, config.batch_size, config.truncation, model.size
    k1 = config.step_size
    x_spec = tf.TensorSpec([n, P, batch, T] + ([config.num_inputs] if config.regression else []),
                           tf.float32)
    y_spec = tf.TensorSpec([n, P, batch, T], tf.float32 if config.regression else tf.int32)

    def train_window(i, state, losses, correct, x, y):
        loss, logits, state, grads = model.loss_and_grads(x[i], y[i], state,
                                                          loss_from=T - k1, carry_at=k1)
        optimizer.apply(grads, model.params)
        targets = tf.transpose(y[i], [2, 0, 1])[T - k1:]
        if config.regression:
            right = tf.abs(logits[T - k1:, ..., 0] - targets) < ADDING_TOLERANCE
        else:
            right = tf.argmax(logits[T - k1:], axis=-1, output_type=tf.int32) == targets
        hits = tf.reduce_sum(tf.cast(right, tf.int32), axis=[0, 2])
        return (i + 1, state, tf.tensor_scatter_nd_update(losses, [[i]], [loss]),
                tf.tensor_scatter_nd_update(correct, [[i]], [hits]))

    @tf.function(jit_compile=True, reduce_retracing=False, input_signature=[x_spec, y_spec])
    def run_epoch(x, y):
        carry = (tf.constant(0), model.zero_state(batch), tf.zeros([n, P]),
                 tf.zeros([n, P], tf.int32))
        _, _, losses, correct = tf.while_loop(lambda i, *_: i < n,
                                              lambda *c: train_window(*c, x, y), carry)
        return losses, correct

    return run_epoch


def check_population(configs: list) -> TrainConfig:
    """The shared settings of a population, or ValueError naming what differs."""
    first = configs[0]
    if first.cell not in POPULATION_CELLS:
        raise ValueError(f"populations train the from-scratch cells ({', '.join(POPULATION_CELLS)}), "
                         f"not --cell {first.cell}")
    if first.task == "text":
        raise ValueError("populations train the synthetic tasks, not --task text")
    for c in configs[1:]:
        if shape_key(c) != shape_key(first):
            differ = [k for k, v in shape_key(c) if dict(shape_key(first)).get(k) != v]
            raise ValueError(f"members differ in {', '.join(differ)}; only "
                             f"{', '.join(MEMBER_SETTINGS)} may")
    return first


def train_population(configs: list, on_epoch=None) -> dict:
    """Train every config (resolved, validated, sharing a shape_key) for its `epochs`.

    Returns {"loss": [P, epochs], "accuracy": [P, epochs]}: each member's mean window
    loss and accuracy per epoch, as a single run's epoch summary reports them.
    `on_epoch(epoch)` is called after each epoch (a sweep worker's heartbeat).
    """
    first = check_population(configs)
    rngs = [np.random.RandomState(c.seed) for c in configs]
    members = [init_params(rng, c.cell, c.layers, c.state_size, c.num_inputs,
                           c.num_classes, c.init) for rng, c in zip(rngs, configs)]
    model = PopulationRNN(members, first.cell, first.regression)
    optimizer = Adagrad([c.learning_rate for c in configs], model.params)
    run_epoch = compile_population_runner(model, optimizer, first)
    T, k1 = first.truncation, first.step_size
    losses, accuracies = [], []
    for epoch in range(first.epochs):
        xs, ys = [], []
        for rng, c in zip(rngs, configs):
            x, y = make_series(rng, c.task, c.layout, c.series_length, c.echo_step,
                               c.batch_size)
            xs.append(to_windows(x, T, k1))
            ys.append(to_windows(y, T, k1))
        xw, yw = np.stack(xs, axis=1), np.stack(ys, axis=1)    # [n, P, batch, T, ...]
        window_losses, hits = run_epoch(
            tf.constant(xw, tf.float32),
            tf.constant(yw, tf.float32 if first.regression else tf.int32))
        if first.regression:
            scored = np.isfinite(yw[..., -k1:]).sum(axis=(2, 3))  # [n, P]
        else:
            scored = np.full(hits.shape, first.batch_size * k1)
        window_losses = np.where(scored > 0, window_losses.numpy(), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            window_acc = np.where(scored > 0, hits.numpy() / np.maximum(scored, 1), np.nan)
            losses.append(np.nanmean(window_losses, axis=0))
            accuracies.append(np.nanmean(window_acc, axis=0))
        if on_epoch is not None:
            on_epoch(epoch)
    return {"loss": np.array(losses).T, "accuracy": np.array(accuracies).T}
