"""rnnlab: recurrent networks trained with truncated backprop through time.

    from rnnlab import TrainConfig, train, resume, evaluate, predict, sample, export

Each name is loaded when first used: `import rnnlab` costs nothing, TensorFlow loads when
a function that needs it is called (TrainConfig needs only NumPy).
"""

__all__ = ["TrainConfig", "train", "resume", "evaluate", "predict", "sample", "export"]

# Where each name lives.
_HOMES = {"TrainConfig": "rnnlab.config", "train": "rnnlab.run.training",
          "resume": "rnnlab.run.training", "evaluate": "rnnlab.look.evaluate",
          "predict": "rnnlab.look.sample", "sample": "rnnlab.look.sample",
          "export": "rnnlab.look.export"}


def __getattr__(name):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
