"""Shared by the tests: a training run that keeps its console lines to itself."""
import io

from rnnlab.config import TrainConfig
from rnnlab.training import train


def quiet_train(out, **settings):
    """train() into folder `out` (no figure unless `plot` is given); returns the Run."""
    settings.setdefault("plot", "none")
    return train(TrainConfig(out=str(out), **settings), stdout=io.StringIO())
