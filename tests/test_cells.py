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
    text = dict(task="text", data="tests/data/alice.txt", cell="lstm")
    assert resolve(TrainConfig(**text)).init == "orthogonal"  # measured fastest: README
    assert resolve(TrainConfig(**{**text, "cell": "lru"})).init == "glorot"  # its paper's
    glorot = init_params(np.random.RandomState(0), "vanilla", 1, 4, init="glorot")
    assert (glorot["cells"][0]["W"] < 0).any()


@pytest.mark.parametrize("cell", [c for c in CELLS if not CELLS[c].keras])
def test_a_layers_weight_count_in_closed_form_is_what_init_draws(cell):
    """What the memory estimate counts (settings.memory_needed), for both kinds of layer."""
    for inputs in (65, 16):
        drawn = CELLS[cell].init(np.random.RandomState(0), inputs, 16, "glorot")
        assert CELLS[cell].weights(inputs, 16) == sum(w.size for w in drawn.values())


@pytest.mark.fast
@pytest.mark.parametrize("cell", ["vanilla", "lstm", "gru"])
def test_each_init_draws_what_its_entry_says(cell):
    """orthogonal: Keras's (an orthonormal recurrent kernel, Glorot input kernel over all
    gates); uniform: PyTorch's (everything within +-1/sqrt(units), two biases summed)."""
    inputs, units, c = 3, 8, CELLS[cell]
    W_h = init_params(np.random.RandomState(1), cell, 1, units, inputs, 2,
                      "orthogonal")["cells"][0]["W"][inputs:]
    np.testing.assert_allclose(W_h @ W_h.T, np.eye(units), atol=1e-12)  # [U, G*U]: rows
    uniform = init_params(np.random.RandomState(1), cell, 1, units, inputs, 2, "uniform")
    bound = 1 / np.sqrt(units)
    layer = uniform["cells"][0]
    assert np.abs(layer["W"]).max() <= bound and np.abs(uniform["W2"]).max() <= bound
    assert np.abs(layer["W"]).max() > 0.9 * bound and (uniform["b2"] != 0).all()
    assert layer["b"].shape[0] == c.bias_rows and np.abs(layer["b"]).max() <= (3 - c.bias_rows) * bound  # one row: the sum
    if c.forget_bias:  # Keras's unit_forget_bias; PyTorch draws it like the rest
        b = init_params(np.random.RandomState(1), cell, 1, units, inputs, 2, "orthogonal")
        assert (b["cells"][0]["b"][:, units:2 * units] == 1).all()
