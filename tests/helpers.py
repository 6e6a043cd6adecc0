"""Shared by the tests: a training run that keeps its console lines to itself, a window's
gradients by a named algorithm, a run's settings from a few of them."""
import io

from rnnlab.config import TrainConfig
from rnnlab.run.training import train
from rnnlab.settings import checked


def quiet_train(out, **settings):
    """train() into folder `out` (no figure unless `plot` is given); returns the Run."""
    settings.setdefault("plot", "none")
    return train(TrainConfig(out=str(out), **settings), stdout=io.StringIO())


def loss_and_grads(model, x, y, state, loss_from=0, carry_at=None, masks=None,
                   gradient="tbptt"):
    """(loss, logits, carried state, grads) of one window by a gradient algorithm of
    nn/gradients.py (tbptt: the hand-written backward; autodiff: GradientTape)."""
    from rnnlab.nn.gradients import GRADIENTS

    loss, logits, carried, _, grads = GRADIENTS[gradient].window(
        model, x, y, state, (), loss_from, carry_at, masks)
    return loss, logits, carried, grads


def settings_of(**settings):
    """The checked Settings of a complete TrainConfig (as the compiled loop takes them)."""
    return checked(TrainConfig(**settings))
