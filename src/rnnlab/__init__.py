"""rnnlab: recurrent networks trained with truncated backprop through time.

`from rnnlab import TrainConfig, train, resume` works without loading TensorFlow until
`train` or `resume` is first used.
"""
from rnnlab.config import TrainConfig

__all__ = ["TrainConfig", "train", "resume"]


def __getattr__(name):
    if name in ("train", "resume"):
        from rnnlab.run import training

        return getattr(training, name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
