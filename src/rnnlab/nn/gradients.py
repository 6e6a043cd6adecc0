"""The gradient algorithms, one table: how a training window's loss and gradients are
computed. The TBPTT loop (run/tbptt.py) calls the one a run's --gradient names, without
knowing which it is.

Each algorithm may carry tensors of its own from window to window besides the RNN's
state (an online algorithm's influence of the weights on the state): `start(model,
batch)` makes them for a batch (zeros), the loop hands them from window to window and
chunk to chunk, a checkpoint keeps them (run/records.py's Progress), and they are made
afresh wherever the RNN's state is reset to zeros (each epoch's start). TBPTT carries
nothing: its gradient stops at the window's start.

`window(model, x, y, state, carried, loss_from, carry_at, masks, key)` -> (loss, logits
[T, (P,) B, C], the state after `carry_at` steps, the carried tensors for the next
window, grads in model.params order): the loss of steps loss_from.. of the window
[(P,) B, T], as model.loss averages it; `key`, (seeds, the update's number), seeds
whatever an algorithm draws at random. The online algorithms (RTRL, SnAp-1, UORO) are
nn/online.py's.
"""
from __future__ import annotations

from dataclasses import dataclass

from rnnlab import lazytf as tf
from rnnlab.nn.online import RTRL, UORO, SnAp1


@dataclass(frozen=True)
class Gradient:
    """TBPTT: backpropagation through the window alone, the state entering it a constant.
    Written out by hand (nn/backprop.py) for cells with a step back, by GradientTape
    through the window's unroll for the others (Keras's cells)."""

    name: str = "tbptt"
    help: str = ("truncated backprop through each window (hand-written, or by "
                 "GradientTape for cells without a written step back)")
    online: bool = False  # credit reaches past the window's start through what it carries

    def start(self, model, batch: int) -> tuple:
        """What the algorithm carries across windows, for a batch: nothing."""
        return ()

    def check(self, settings) -> None:
        """ConfigError naming what the algorithm cannot do with a run's settings."""

    def memory(self, settings) -> int:
        """Bytes of what it carries across windows: nothing."""
        return 0

    def window(self, model, x, y, state, carried, loss_from: int = 0,
               carry_at: int | None = None, masks=None, key=None):
        if model.cell.back is None:
            loss, logits, state, grads = by_tape(model, x, y, state, loss_from, carry_at, masks)
        else:
            from rnnlab.nn import backprop

            loss, logits, state, grads = backprop.loss_and_grads(model, x, y, state, loss_from,
                                                                 carry_at, masks)
        return loss, logits, state, (), grads


@dataclass(frozen=True)
class Autodiff(Gradient):
    """The same gradient as tbptt, by GradientTape through the window's unroll (a loop
    over time): the reference the hand-written pass is tested against, 2-5x slower."""

    name: str = "autodiff"
    help: str = "TBPTT by GradientTape through the unrolled window (the reference; slower)"

    def window(self, model, x, y, state, carried, loss_from: int = 0,
               carry_at: int | None = None, masks=None, key=None):
        loss, logits, state, grads = by_tape(model, x, y, state, loss_from, carry_at, masks)
        return loss, logits, state, (), grads


def by_tape(model, x, y, state, loss_from: int = 0, carry_at: int | None = None, masks=None):
    """(loss, logits, carried state) of model.unroll, and (after them) its gradients by
    GradientTape: (loss, logits, state, grads)."""
    with tf.GradientTape() as tape:
        logits, carried = model.unroll(x, state, carry_at, masks)
        loss = model.loss(logits, y, loss_from)
        # A population's members share no weight, so the gradient of the sum of their
        # losses is each member's own gradient.
        total = tf.reduce_sum(loss)
    grads = tape.gradient(total, model.params)
    return loss, logits, carried, [tf.convert_to_tensor(g) for g in grads]  # E's: slices


GRADIENTS = {g.name: g for g in (Gradient(), Autodiff(), RTRL(), SnAp1(), UORO())}
