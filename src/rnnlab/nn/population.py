"""Many networks of one shape as one model: a population axis in front of every weight,
input and state, so that one compiled program trains them all (run/training.py's
train_population, for sweeps).

Members differ in what does not change array shapes: seed (so initial weights and data),
learning rate, echo step, initialisation. The cells' equations are the single
network's, as batched products (nn/cells.py's matmul); RNN's loop and losses serve as
they are, and the hand-written backward pass (nn/backprop.py) takes the member axis too.
"""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf
from rnnlab.nn.model import RNN, _entry


class PopulationRNN(RNN):
    """P independent networks: weights [P, ...], inputs [P, batch, T, ...], states
    [P, batch, units], one loss per member."""

    time_axis = 2
    loss_axes = [0, 2]  # the window's steps and rows, not its members

    def __init__(self, members: list, cell, regression: bool = False, dropout: float = 0.0):
        """members: each network's init_params; every parameter the cell has is stacked."""
        cell = _entry(cell)
        stacked = {
            "cells": [{k: np.stack([m["cells"][layer][k] for m in members])
                       for k in cell.params if k in members[0]["cells"][layer]}
                      for layer in range(len(members[0]["cells"]))],
            **{k: np.stack([m[k] for m in members]) for k in ("W2", "b2", "E") if k in members[0]}}
        super().__init__(stacked, cell, regression, name="population", dropout=dropout)
        self.population_shape = (len(members),)

    def zero_state(self, batch: int) -> tuple:
        return tuple(tf.zeros(self.population_shape + tuple(t.shape)) for c in self.cells
                     for t in c.zero_state(batch))
