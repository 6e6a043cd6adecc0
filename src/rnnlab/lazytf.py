"""TensorFlow, imported (through rnnlab._tf, with rnnlab's process settings) the first
time one of its names is used: `from rnnlab import lazytf as tf`. The tables of cells and
gradient algorithms use it, so that the command line can read their names (its flags'
choices, its errors) without paying for TensorFlow."""


def __getattr__(name):
    from rnnlab._tf import tf

    return getattr(tf, name)
