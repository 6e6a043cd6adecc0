"""Many networks of one shape trained at once: a population axis in front of every
weight, input and state, so one compiled program trains them all.

Members differ in what does not change array shapes: seed (so initial weights and data),
learning rate, echo step, initialisation. Each member draws from its own
RandomState(seed) in the order a single run does, so member i computes what
`rnnlab train` with its settings computes (tests/test_population.py), up to float
rounding (both go through backprop.py, but a population multiplies its smallest
matrices as broadcast sums, a single network as matrix products).
"""
from __future__ import annotations

import numpy as np

from rnnlab._tf import Compiled, tf
from rnnlab.config import MEMBER_SETTINGS, TrainConfig, shape_key
from rnnlab.model import RNN, init_params
from rnnlab.optim import make_optimizer
from rnnlab.observers import Improvement
from rnnlab.records import Progress
from rnnlab.settings import check_member
from rnnlab.tasks import TASKS
from rnnlab.tbptt import compile_window_runner, epoch_of, train_epochs


class PopulationRNN(RNN):
    """P independent networks: weights [P, ...], inputs [P, batch, T, ...], states
    [P, batch, units], one loss per member. The cells' equations are the single
    network's, as batched products; RNN's loop and losses serve as they are."""

    time_axis = 2
    loss_axes = [0, 2]  # the window's steps and rows, not its members

    def __init__(self, members: list, cell: str, regression: bool = False,
                 dropout: float = 0.0):
        stacked = {
            "cells": [{k: np.stack([m["cells"][layer][k] for m in members]) for k in ("W", "b")}
                      for layer in range(len(members[0]["cells"]))],
            **{k: np.stack([m[k] for m in members]) for k in ("W2", "b2", "E") if k in members[0]}}
        super().__init__(stacked, cell, regression, name="population", dropout=dropout)
        self.population_shape = (len(members),)

    def zero_state(self, batch: int) -> tuple:
        return tuple(tf.zeros(self.population_shape + tuple(t.shape)) for c in self.cells
                     for t in c.zero_state(batch))


def check_population(configs: list) -> TrainConfig:
    """The shared settings of a population, or ValueError naming what differs."""
    first = configs[0]
    check_member(first)
    for c in configs[1:]:
        if shape_key(c) != shape_key(first):
            differ = [k for k, v in shape_key(c) if dict(shape_key(first)).get(k) != v]
            raise ValueError(f"members differ in {', '.join(differ)}; only "
                             f"{', '.join(MEMBER_SETTINGS)} may")
    return first


def train_population(configs: list) -> dict:
    """Train every config (prepared, sharing a shape_key) for its `epochs`.

    Returns {"loss": [P, epochs], "accuracy": [P, epochs]}: each member's mean window
    loss and accuracy per epoch, as a single run's epoch summary reports them.
    """
    first = check_population(configs)
    task = TASKS[first.task]
    rngs = [np.random.RandomState(c.seed) for c in configs]
    members = [init_params(rng, c.cell, c.layers, c.state_size, c.num_inputs,
                           c.num_classes, c.init, c.embedding) for rng, c in zip(rngs, configs)]
    model = PopulationRNN(members, first.cell, task.regression, first.dropout)
    optimizer = make_optimizer(first.optimizer, model.params)
    seeds = [c.seed for c in configs]
    run_windows = Compiled(lambda: compile_window_runner(model, optimizer, first, seeds))

    def draw_epoch(progress: Progress):  # each member draws from its own stream
        drawn = [task.series(rng, c) for rng, c in zip(rngs, configs)]
        return epoch_of(first, progress.epoch, np.stack([x for x, _ in drawn]),
                        np.stack([y for _, y in drawn]), population=True)

    zeros = [s.numpy() for s in model.zero_state(first.batch_size)]
    rates = np.array([c.rate for c in configs], np.float32)
    progress = Progress.start(first.num_windows, zeros, members=(len(configs),))
    train_epochs(first, run_windows, draw_epoch, progress, [Improvement(first)], base_rate=rates)
    history = progress.history
    return {"loss": history.epoch_loss.T, "accuracy": history.epoch_accuracy.T}
