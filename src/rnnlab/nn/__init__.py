"""The network's maths: the cell table, the models, the hand-written backward pass, the
gradient algorithms, the optimizers, running a model along a stretch of data. Imports
nothing of rnnlab's run, views or command line."""
