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
from rnnlab.config import MEMBER_SETTINGS, TrainConfig, check_population_settings, shape_key
from rnnlab.model import RNN, init_params
from rnnlab.optim import Adagrad
from rnnlab.tasks import make_series, to_windows
from rnnlab.tbptt import compile_window_runner, scored_per_window, window_accuracies


class PopulationRNN(RNN):
    """P independent networks: weights [P, ...], inputs [P, batch, T, ...], states
    [P, batch, units], one loss per member. The cells' equations are the single
    network's, as batched products; RNN's loop and losses serve as they are."""

    time_axis = 2
    loss_axes = [0, 2]  # the window's steps and rows, not its members

    def __init__(self, members: list, cell: str, regression: bool = False):
        stacked = {
            "cells": [{k: np.stack([m["cells"][layer][k] for m in members]) for k in ("W", "b")}
                      for layer in range(len(members[0]["cells"]))],
            "W2": np.stack([m["W2"] for m in members]),
            "b2": np.stack([m["b2"] for m in members])}
        super().__init__(stacked, cell, regression, name="population")
        self.population_shape = (len(members),)

    def zero_state(self, batch: int) -> tuple:
        return tuple(tf.zeros(self.population_shape + tuple(t.shape)) for c in self.cells
                     for t in c.zero_state(batch))


def check_population(configs: list) -> TrainConfig:
    """The shared settings of a population, or ValueError naming what differs."""
    first = configs[0]
    check_population_settings(first)
    for c in configs[1:]:
        if shape_key(c) != shape_key(first):
            differ = [k for k, v in shape_key(c) if dict(shape_key(first)).get(k) != v]
            raise ValueError(f"members differ in {', '.join(differ)}; only "
                             f"{', '.join(MEMBER_SETTINGS)} may")
    return first


def train_population(configs: list) -> dict:
    """Train every config (resolved, validated, sharing a shape_key) for its `epochs`.

    Returns {"loss": [P, epochs], "accuracy": [P, epochs]}: each member's mean window
    loss and accuracy per epoch, as a single run's epoch summary reports them.
    """
    first = check_population(configs)
    rngs = [np.random.RandomState(c.seed) for c in configs]
    members = [init_params(rng, c.cell, c.layers, c.state_size, c.num_inputs,
                           c.num_classes, c.init) for rng, c in zip(rngs, configs)]
    model = PopulationRNN(members, first.cell, first.regression)
    optimizer = Adagrad([c.learning_rate for c in configs], model.params)
    run_windows = compile_window_runner(model, optimizer, first)
    T, k1, n = first.truncation, first.step_size, first.num_windows
    zeros = model.zero_state(first.batch_size)  # each epoch starts from zeros, as a run's does
    losses, accuracies = [], []
    for _ in range(first.epochs):
        xs, ys = [], []
        for rng, c in zip(rngs, configs):
            x, y = make_series(rng, c.task, c.layout, c.series_length, c.echo_step,
                               c.batch_size)
            xs.append(to_windows(x, T, k1))
            ys.append(to_windows(y, T, k1))
        xw, yw = np.stack(xs, axis=1), np.stack(ys, axis=1)    # [n, P, batch, T, ...]
        window_losses, hits, _, _ = run_windows(
            tf.constant(xw, tf.float32),
            tf.constant(yw, tf.float32 if first.regression else tf.int32), zeros, 0, n)
        scored = scored_per_window(first, yw)                  # [n, P]
        window_losses = np.where(scored > 0, window_losses.numpy(), np.nan)
        losses.append(np.nanmean(window_losses, axis=0))
        accuracies.append(np.nanmean(window_accuracies(hits.numpy(), scored), axis=0))
    return {"loss": np.array(losses).T, "accuracy": np.array(accuracies).T}
