"""The initial weights, one table: --init names an entry. Each draws a step cell's layer
{"W": [inputs + units, gates * units], "b": [bias rows, gates * units]} and the output
layer {"W2": [units, classes], "b2": [1, classes]} from the run's random stream.

- tutorial: uniform [0, 1) everywhere, biases zero (the tutorial's rand);
- glorot: uniform +-sqrt(6 / (fan_in + fan_out)) over each gate's block of W as one
  matrix [inputs + units, units], biases zero but the LSTM's forget gate's, at 1;
- orthogonal: as Keras's layers start: a Glorot input kernel over [inputs, gates * units]
  as a whole, an orthogonal recurrent kernel [units, gates * units], biases zero but
  the LSTM's forget gate's (unit_forget_bias), a Glorot output layer;
- uniform: as PyTorch's nn.LSTM, nn.GRU, nn.RNN and nn.Linear start: every weight and
  bias uniform in +-1/sqrt(units) (the output layer's +-1/sqrt(its inputs)), the input
  and recurrent biases drawn apart (one bias row holds their sum).

A scan cell starts from its paper's initialisation (nn/scan_cells.py), which is its
--init glorot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def glorot(rng: np.random.RandomState, fan_in: int, fan_out: int, shape) -> np.ndarray:
    """Glorot's uniform initialisation: +-sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def orthogonal(rng: np.random.RandomState, rows: int, columns: int) -> np.ndarray:
    """Keras's Orthogonal(gain=1) of shape [rows, columns]: the Q of a normal matrix's QR,
    its signs fixed by R's diagonal; orthonormal rows where rows < columns."""
    flat = rng.normal(size=(max(rows, columns), min(rows, columns)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return q.T if rows < columns else q


def _biases(cell, units: int) -> np.ndarray:
    """Zeros, but the LSTM's forget gate's at 1 (Keras's unit_forget_bias)."""
    b = np.zeros((cell.bias_rows, cell.gates * units))
    if cell.forget_bias:
        b[:, units:2 * units] = 1.0
    return b


def _tutorial_layer(rng, cell, inputs: int, units: int) -> dict:
    return {"W": rng.rand(inputs + units, cell.gates * units), "b": _biases(cell, units)}


def _glorot_layer(rng, cell, inputs: int, units: int) -> dict:
    W = glorot(rng, inputs + units, units, (inputs + units, cell.gates * units))
    return {"W": W, "b": _biases(cell, units)}


def _orthogonal_layer(rng, cell, inputs: int, units: int) -> dict:
    columns = cell.gates * units
    W_x = glorot(rng, inputs, columns, (inputs, columns))
    W_h = orthogonal(rng, units, columns)
    return {"W": np.concatenate([W_x, W_h]), "b": _biases(cell, units)}


def _uniform_layer(rng, cell, inputs: int, units: int) -> dict:
    columns, bound = cell.gates * units, 1 / np.sqrt(units)
    W = rng.uniform(-bound, bound, (inputs + units, columns))
    b = rng.uniform(-bound, bound, (2, columns))  # b_ih, b_hh
    return {"W": W, "b": b if cell.bias_rows == 2 else b.sum(0, keepdims=True)}


def _rand_output(rng, units: int, classes: int) -> dict:
    return {"W2": rng.rand(units, classes), "b2": np.zeros((1, classes))}


def _glorot_output(rng, units: int, classes: int) -> dict:
    return {"W2": glorot(rng, units, classes, (units, classes)), "b2": np.zeros((1, classes))}


def _uniform_output(rng, units: int, classes: int) -> dict:
    bound = 1 / np.sqrt(units)
    return {"W2": rng.uniform(-bound, bound, (units, classes)),
            "b2": rng.uniform(-bound, bound, (1, classes))}


@dataclass(frozen=True)
class Init:
    name: str
    layer: Callable    # (rng, cell, inputs, units) -> {"W", "b"}
    output: Callable   # (rng, units, classes) -> {"W2", "b2"}
    help: str


INITS = {i.name: i for i in (
    Init("tutorial", _tutorial_layer, _rand_output, "uniform [0, 1), the tutorial's"),
    Init("glorot", _glorot_layer, _glorot_output, "Glorot uniform per gate block"),
    Init("orthogonal", _orthogonal_layer, _glorot_output,
         "Keras's: Glorot input kernel, orthogonal recurrent kernel"),
    Init("uniform", _uniform_layer, _uniform_output, "PyTorch's: +-1/sqrt(units) everywhere"),
)}
