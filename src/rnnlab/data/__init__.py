"""The data: the task table, the series each task draws, text read from a file. NumPy
only: no TensorFlow, nothing of the network, the run, the views or the command line."""
