"""A run: the TBPTT loop, train() and resume(), what is shown and written around the
training, what a run records, its checkpoints and its folder."""
