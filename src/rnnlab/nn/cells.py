"""The cell table: every recurrent cell rnnlab trains, one entry each (as data/tasks.py is
for tasks). The rest of rnnlab asks the entry, `CELLS[name]`, instead of testing names.

An entry holds the cell's parameters in an explicit order with their initialisation,
its one time step, its hand-written step back (the backward pass of backprop.py runs
it), its named state parts, its gates and the memory a step keeps, and whether a
population (a sweep) may train it. Each cell's equations are written once, here:
training, eval, predict, sample and export all run them.

The cells written from scratch are affine in their inputs: per layer W = [W_x; W_h]
[inputs + units, gates * units] and b [bias rows, gates * units], so that x_t @ W_x of
every step can be computed at once, outside the loop over time, and a step is
`step(zx_t, state, W_h, b_h) -> (state, saved)` with zx_t = x_t @ W_x + b_x. `saved`
starts with the new state's tensors, then what the step back needs;
`back(d_out_t, saved_t, prev_t, carry, W_hT) -> (carry, dz)` takes dL/dh_t from above,
the carry dL/d(state_t) from step t + 1 and the state entering step t, and returns the
carry for step t - 1 and the pre-activation gradients: (dz_t,) of x_t W_x + h W_h + b,
or with two bias rows (the GRU) (dzx_t, dzh_t) of x_t W_x + b_x and h W_h + b_h apart.

They use Keras's gate order and bias layout, so Keras's own cells (the keras-* entries,
whose gradients come from GradientTape) start from the same weights and compute the
same numbers (tests/test_cells.py). A population of networks goes through the same
equations with a leading member axis on every array (nn/population.py).

TensorFlow is imported on first use (rnnlab.lazytf): the command line reads the table's
names without it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from rnnlab import lazytf as tf
from rnnlab.nn import scan_cells
from rnnlab.nn.inits import INITS

SMALL_STEP_PRODUCT = 128


def matmul(a, b):
    """a @ b. For a population's stacked weights [P, i, o] that are small (i * o at most
    SMALL_STEP_PRODUCT: the tutorial's 5 x 4, a 4-unit LSTM's 4 x 16), a broadcast
    product and a sum instead, which XLA fuses into one loop: its batched dot runs one
    tiny matrix product per member. From 16 x 16 on the batched dot is faster again
    (benchmarks/backprop_speed.py --scaling --population 64 --units 4 / 16)."""
    if b.shape.rank == 3 and b.shape[-2] * b.shape[-1] <= SMALL_STEP_PRODUCT:
        return tf.reduce_sum(a[..., :, None] * b[:, None, :, :], axis=-2)
    return a @ b


# --- the equations -------------------------------------------------------------------


def vanilla_step(zx, state, W_h, b_h):
    """h = tanh(x W_x + h W_h + b), the tutorial's cell."""
    h = tf.tanh(zx + matmul(state[0], W_h))
    return (h,), (h,)


def vanilla_back(d_out, saved, prev, carry, W_hT):
    (h,), (dh_next,) = saved, carry
    dz = (d_out + dh_next) * (1.0 - h * h)
    return (matmul(dz, W_hT),), (dz,)


def _lstm_scale(units, dtype):
    """[4U]: 0.5 where a gate is a sigmoid, 1 for the candidate g (a plain tanh)."""
    return tf.constant([0.5] * (2 * units) + [1.0] * units + [0.5] * units, dtype)


def lstm_step(zx, state, W_h, b_h):
    """Gates i, f, g, o (Keras's order): c = f*c + i*g, h = o * tanh(c).

    All four activations are one tanh over the gates' full width, sigmoid(x) = 0.5 *
    tanh(x / 2) + 0.5: one fused loop instead of four over slices, and XLA's CPU tanh
    costs about half its sigmoid. tanh(c) is kept for the step back."""
    h, c = state
    scale = _lstm_scale(h.shape[-1], h.dtype)
    gates = tf.tanh((zx + matmul(h, W_h)) * scale) * scale + (1.0 - scale)
    i, f, g, o = tf.split(gates, 4, axis=-1)
    c = f * c + i * g
    tanh_c = tf.tanh(c)
    h = o * tanh_c
    return (h, c), (h, c, gates, tanh_c)


def lstm_back(d_out, saved, prev, carry, W_hT):
    (_, _, gates, tanh_c), (_, c_prev), (dh_next, dc_next) = saved, prev, carry
    i, f, g, o = tf.split(gates, 4, axis=-1)
    dh = d_out + dh_next
    dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
    d_gates = tf.concat([dc * g, dc * c_prev, dc * i, dh * tanh_c], axis=-1)
    # The activations' slopes over the full width: a(1 - a) for a sigmoid, 1 - a^2 for
    # g (2 * scale - 1 is 0 on sigmoid gates, 1 on g).
    candidate = 2.0 * _lstm_scale(i.shape[-1], gates.dtype) - 1.0
    slope = gates * (1.0 - gates) * (1.0 - candidate) + (1.0 - gates * gates) * candidate
    dz = d_gates * slope
    return (matmul(dz, W_hT), dc * f), (dz,)


def gru_step(zx, state, W_h, b_h):
    """Keras's GRU, reset gate after the recurrent product; gates z, r, candidate n:
    n = tanh(xn + r * (h W_hn + b_hn)), h = z*h + (1 - z)*n. Bias rows: input, recurrent."""
    h = state[0]
    zh = matmul(h, W_h) + b_h
    xz, xr, xn = tf.split(zx, 3, axis=-1)
    hz, hr, hn = tf.split(zh, 3, axis=-1)
    z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
    n = tf.tanh(xn + r * hn)
    h = z * h + (1.0 - z) * n
    return (h,), (h, tf.concat([z, r, n], axis=-1), hn)


def gru_back(d_out, saved, prev, carry, W_hT):
    (_, gates, hn), (h_prev,), (dh_next,) = saved, prev, carry
    z, r, n = tf.split(gates, 3, axis=-1)
    dh = d_out + dh_next
    dn = dh * (1.0 - z) * (1.0 - n * n)
    dz = dh * (h_prev - n) * z * (1.0 - z)
    dr = dn * hn * r * (1.0 - r)
    dzx = tf.concat([dz, dr, dn], axis=-1)
    dzh = tf.concat([dz, dr, dn * r], axis=-1)
    return (dh * z + matmul(dzh, W_hT),), (dzx, dzh)


# --- the table -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """What rnnlab knows of one cell."""

    name: str
    step: Optional[Callable]          # (zx_t, state, W_h, b_h) -> (state, saved)
    back: Optional[Callable]          # the step back; None: gradients by GradientTape
    parts: tuple = ("h",)             # the state's tensors, each [batch, units]; h first
    gates: int = 1                    # blocks of `units` columns in W and b
    bias_rows: int = 1                # 2: input and recurrent biases apart (the GRU)
    saved: tuple = ()                 # widths, in units, of what `step` saves besides the state
    forget_bias: bool = False         # the LSTM's forget gate starts at a bias of 1
    population: bool = True           # a population (so a sweep) may train it
    tutorial: bool = False            # the tutorial's cell (its default --init on the echo task)
    keras: Optional[str] = None       # Keras's own cell class, run in place of `step`
    params: tuple = ("W", "b")        # the parameters of a layer, in checkpoint and gradient order
    gates_saved: Optional[int] = None  # which of `step`'s saved tensors holds the gates'
                                       # activations [.., gates * units], if it has gates
    gate_names: tuple = ()            # their blocks' names; a "*" ends a sigmoid's
    scan: Optional[object] = None     # a scan cell's maths (nn/scan_cells.py): the whole
                                      # window at once, its step, its block's weights
    help: str = ""

    @property
    def dz_parts(self) -> int:
        """How many pre-activation gradients `back` returns."""
        return self.bias_rows

    @property
    def floats_per_step(self) -> int:
        """Floats per unit and row that a step keeps for the backward pass: the state,
        what `step` saves besides, the pre-activation gradients (a scan cell's block,
        through GradientTape: its hidden width's worth a few times, its MLP's)."""
        if self.scan:
            return 8 * scan_cells.EXPANSION + 3 * scan_cells.FEED_FORWARD
        return len(self.parts) + sum(self.saved) + self.gates * self.dz_parts

    def weights(self, inputs: int, units: int) -> int:
        """How many weights one layer has (in closed form: no arrays drawn)."""
        if self.scan:
            return scan_cells.block_weights(self.scan, inputs, units)
        return (inputs + units + self.bias_rows) * self.gates * units

    def init(self, rng: np.random.RandomState, inputs: int, units: int, init: str) -> dict:
        """Numpy weights of one layer: {"W": [inputs + units, gates*units], "b": [bias
        rows, gates*units]}, drawn as nn/inits.py's entry `init` draws them; a scan
        cell's block as its paper's (scan_cells.block_init)."""
        if self.scan:
            return scan_cells.block_init(self.scan, rng, inputs, units)
        return INITS[init].layer(rng, self, inputs, units)

    def split(self, W, b, units: int):
        """W, b -> (W_x, b_x, W_h, b_h): the input and recurrent halves."""
        inputs = W.shape[-2] - units
        return W[..., :inputs, :], b[..., :1, :], W[..., inputs:, :], b[..., -1:, :]

    def units_of(self, W) -> int:
        return int(W.shape[-1]) // self.gates


def _keras_twin(cell: Cell, name: str, keras: str) -> Cell:
    """Keras's own cell computing `cell`'s equations, from the same weights."""
    return dataclasses.replace(cell, name=name, step=None, back=None, keras=keras,
                               population=False, tutorial=False, gates_saved=None,
                               help=f"Keras's {keras}, the same equations as {cell.name}")


VANILLA = Cell("vanilla", vanilla_step, vanilla_back, tutorial=True,
               help="h = tanh(x W_x + h W_h + b), the tutorial's")
LSTM = Cell("lstm", lstm_step, lstm_back, parts=("h", "c"), gates=4, saved=(4, 1),
            forget_bias=True, gates_saved=2,
            gate_names=("input*", "forget*", "candidate", "output*"),
            help="long short-term memory, gates i, f, g, o")
GRU = Cell("gru", gru_step, gru_back, gates=3, bias_rows=2, saved=(3, 1), gates_saved=1,
           gate_names=("update*", "reset*", "candidate"),
           help="gated recurrent unit, Keras's (reset gate after the recurrent product)")



def _scan_cell(name: str, help: str) -> Cell:
    """A scan cell's entry: its block's weights in order, its state's parts."""
    scan = scan_cells.SCANS[name]
    block = scan_cells.BLOCK
    return Cell(name, None, None, parts=scan.parts, scan=scan, help=help,
                params=block[:2] + scan.params + block[2:])


CELLS = {cell.name: cell for cell in (
    VANILLA, LSTM, GRU,
    _keras_twin(VANILLA, "keras-simple", "SimpleRNNCell"),
    _keras_twin(LSTM, "keras-lstm", "LSTMCell"),
    _keras_twin(GRU, "keras-gru", "GRUCell"),
    _scan_cell("mingru", "minGRU (Feng et al. 2024), trained by a parallel scan"),
    _scan_cell("minlstm", "minLSTM (Feng et al. 2024), trained by a parallel scan"),
    _scan_cell("lru", "the linear recurrent unit (Orvieto et al. 2023), a parallel scan"))}
