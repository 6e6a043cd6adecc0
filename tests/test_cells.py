"""The from-scratch cells against Keras's own, and what each cell can learn."""
import io

import numpy as np
import pytest

from rnnlab._tf import tf
from rnnlab.config import TrainConfig
from rnnlab.nn.model import RNN, init_params
from rnnlab.nn.cells import CELLS
from rnnlab.settings import resolve
from helpers import loss_and_grads
from helpers import quiet_train


@pytest.mark.parametrize("ours, theirs", [("vanilla", "keras-simple"), ("lstm", "keras-lstm"),
                                          ("gru", "keras-gru")])
def test_from_scratch_cell_equals_keras_cell_with_the_same_weights(ours, theirs):
    rng = np.random.RandomState(0)
    params = init_params(rng, ours, layers=2, state_size=6, init="glorot")
    for cell in params["cells"]:
        cell["b"] = rng.randn(*cell["b"].shape) * 0.1  # non-zero biases, so their layout counts
    x = tf.constant(rng.randint(0, 2, (3, 7)), tf.float32)
    y = tf.constant(rng.randint(0, 2, (3, 7)), tf.int32)
    results = []
    for kind in (ours, theirs):
        model = RNN(params, kind)
        state = tuple(tf.fill(s.shape, 0.3) for s in model.zero_state(3))
        loss, logits, carried, grads = loss_and_grads(model, x, y, state)
        results.append((loss, logits, carried, grads))
    (l1, o1, s1, g1), (l2, o2, s2, g2) = results
    np.testing.assert_allclose(o1.numpy(), o2.numpy(), rtol=1e-5, atol=1e-6)
    assert len(s1) == len(s2) == 2 * len(CELLS[ours].parts)
    for a, b in zip(s1, s2):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    # Keras keeps (kernel, recurrent kernel, bias) per layer where ours keep (W, b),
    # W = [kernel; recurrent kernel]: line them up, then compare every gradient.
    assert len(g1) == 2 * 2 + 2 and len(g2) == 2 * 3 + 2
    keras_as_ours = []
    for layer in range(2):
        kernel, recurrent, bias = g2[3 * layer:3 * layer + 3]
        keras_as_ours += [tf.concat([kernel, recurrent], axis=0), bias]
    keras_as_ours += g2[-2:]
    for a, b in zip(g1, keras_as_ours):
        np.testing.assert_allclose(a.numpy(), np.reshape(b.numpy(), a.shape), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_learn_the_echo_task(cell, tmp_path):
    run = quiet_train(tmp_path / cell, cell=cell, state_size=8, epochs=3, seed=1,
                      series_length=30000)
    assert run.history.epoch_accuracy[-1] > 0.99


def test_two_layers_learn_and_resume_exactly(tmp_path):
    from rnnlab.run.training import resume

    settings = dict(cell="lstm", layers=2, state_size=6, seed=2, series_length=15000,
                    checkpoint_every=0)
    straight = quiet_train(tmp_path / "a", epochs=3, **settings)
    quiet_train(tmp_path / "b", epochs=2, **settings)
    resume(str(tmp_path / "b"), epochs=3, stdout=io.StringIO())
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
    assert straight.history.epoch_accuracy[-1] > 0.95


def test_init_tutorial_is_the_default_only_for_the_vanilla_echo_run():
    assert resolve(TrainConfig()).init == "tutorial"
    assert resolve(TrainConfig(cell="gru")).init == "glorot"
    assert resolve(TrainConfig(task="dependency")).init == "glorot"
    glorot = init_params(np.random.RandomState(0), "vanilla", 1, 4, init="glorot")
    assert (glorot["cells"][0]["W"] < 0).any()
