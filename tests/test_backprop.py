"""The hand-written window backward (nn/backprop.py, the tbptt gradient algorithm)
against GradientTape through the tf.scan loop (the autodiff one), and against an
independent NumPy forward and backward pass."""
import numpy as np
import pytest

import numpy_bptt
from rnnlab._tf import tf
from rnnlab.nn.model import RNN, init_params
from rnnlab.nn.cells import CELLS as CELL_TABLE
from rnnlab.nn.population import PopulationRNN
from helpers import loss_and_grads

CELLS = ("vanilla", "lstm", "gru")


def random_params(rng, cell, layers, units, inputs, classes):
    params = init_params(rng, cell, layers, units, inputs, classes, "glorot")
    for layer in params["cells"]:
        layer["b"] = rng.randn(*layer["b"].shape) * 0.3  # every bias row counts
    params["b2"] = rng.randn(*params["b2"].shape) * 0.3
    return params


def both_ways(params, cell, x, y, state, dtype=tf.float64, regression=False, model_class=RNN,
              **window):
    """loss_and_grads of the hand-written and the autodiff path, as NumPy."""
    results = []
    for gradient in ("tbptt", "autodiff"):
        if model_class is RNN:
            model = RNN(params, cell, regression, dtype=dtype)
        else:
            model = model_class(params, cell, regression)
        start = tuple(tf.constant(s, dtype) for s in state)
        out = loss_and_grads(model, tf.constant(x), tf.constant(y), start, gradient=gradient,
                             **window)
        results.append(tf.nest.map_structure(lambda t: t.numpy(), out))
    return results


def assert_same(hand, auto, rtol=1e-10, atol=1e-12):
    (l1, o1, s1, g1), (l2, o2, s2, g2) = hand, auto
    np.testing.assert_allclose(l1, l2, rtol=rtol, atol=atol, err_msg="loss")
    np.testing.assert_allclose(o1, o2, rtol=rtol, atol=atol, err_msg="logits")
    assert len(s1) == len(s2) and len(g1) == len(g2)
    for i, (a, b) in enumerate(zip(s1, s2)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"state {i}")
    for i, (a, b) in enumerate(zip(g1, g2)):
        assert a.shape == b.shape, f"gradient {i}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient {i}")


def state_for(model_params, cell, layers, batch, rng, population=()):
    units = model_params["W2"].shape[-2]
    parts = layers * len(CELL_TABLE[cell].parts)
    return [np.tanh(rng.randn(*population, batch, units)) for _ in range(parts)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers, inputs", [(1, 1), (2, 7)])  # bits; one-hot characters
def test_equals_autodiff_in_float64(cell, layers, inputs):
    rng = np.random.RandomState(layers)
    B, T, U, C = 3, 9, 5, inputs if inputs > 1 else 2
    params = random_params(rng, cell, layers, U, inputs, C)
    x = rng.randint(0, max(inputs, 2), (B, T)).astype(np.float32)
    y = rng.randint(0, C, (B, T)).astype(np.int32)
    state = state_for(params, cell, layers, B, rng)
    for window in (dict(), dict(loss_from=4, carry_at=5)):  # TBPTT(k1=5, k2=9)
        hand, auto = both_ways(params, cell, x, y, state, **window)
        assert_same(hand, auto)


@pytest.mark.parametrize("cell", CELLS)
def test_regression_skips_missing_targets_like_autodiff(cell):
    rng = np.random.RandomState(4)
    B, T, U = 4, 8, 6
    params = random_params(rng, cell, 2, U, 2, 1)
    x = rng.rand(B, T, 2).astype(np.float32)
    y = rng.rand(B, T).astype(np.float32)
    y[rng.rand(B, T) < 0.7] = np.nan
    state = state_for(params, cell, 2, B, rng)
    hand, auto = both_ways(params, cell, x, y, state, regression=True, loss_from=2, carry_at=6)
    assert_same(hand, auto)
    assert np.isfinite(hand[0]) and all(np.isfinite(g).all() for g in hand[3])
    y[:] = np.nan  # no target in the window: loss 0, every gradient exactly 0
    hand, _ = both_ways(params, cell, x, y, state, regression=True)
    assert hand[0] == 0 and not any(g.any() for g in hand[3])


class Population64(PopulationRNN):
    dtype = tf.float64


@pytest.mark.parametrize("cell", CELLS)
def test_population_of_three_equals_autodiff(cell):
    rng = np.random.RandomState(5)
    P, B, T, U, V = 3, 4, 7, 5, 6
    members = [random_params(rng, cell, 2, U, V, V) for _ in range(P)]
    x = rng.randint(0, V, (P, B, T)).astype(np.float32)
    y = rng.randint(0, V, (P, B, T)).astype(np.int32)
    state = state_for(members[0], cell, 2, B, rng, (P,))
    hand, auto = both_ways(members, cell, x, y, state, model_class=Population64,
                           loss_from=3, carry_at=4)
    assert hand[0].shape == (P,) and hand[1].shape == (T, P, B, V)
    assert_same(hand, auto)


def test_population_regression_member_without_targets_gets_zero_gradients():
    rng = np.random.RandomState(6)
    P, B, T, U = 3, 4, 6, 5
    members = [random_params(rng, "gru", 1, U, 2, 1) for _ in range(P)]
    x = rng.rand(P, B, T, 2).astype(np.float32)
    y = rng.rand(P, B, T).astype(np.float32)
    y[rng.rand(P, B, T) < 0.5] = np.nan
    y[1] = np.nan
    state = state_for(members[0], "gru", 1, B, rng, (P,))
    hand, auto = both_ways(members, "gru", x, y, state, model_class=Population64,
                           regression=True, loss_from=1)
    assert_same(hand, auto)
    assert hand[0][1] == 0 and all(not g[1].any() for g in hand[3])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("inputs", [1, 6])
def test_equals_numpy_forward_and_backward(cell, inputs):
    rng = np.random.RandomState(7)
    B, T, U, C = 3, 8, 4, 5
    params = random_params(rng, cell, 1, U, inputs, C)
    x = rng.randint(0, max(inputs, 2), (B, T))
    y = rng.randint(0, C, (B, T))
    state = state_for(params, cell, 1, B, rng)
    flat = {**params["cells"][0], "W2": params["W2"], "b2": params["b2"]}
    xs = x[..., None].astype(float) if inputs == 1 else np.eye(inputs)[x]
    ref_loss, ref_grads, ref_state = numpy_bptt.gated_loss_and_grads(cell, flat, xs, y, state,
                                                                     loss_from=2)
    model = RNN(params, cell, dtype=tf.float64)
    loss, _, carried, grads = loss_and_grads(
        model, tf.constant(x, tf.float32), tf.constant(y, tf.int32),
        tuple(tf.constant(s) for s in state), loss_from=2)
    assert float(loss) == pytest.approx(ref_loss, rel=1e-12)
    for a, b in zip(carried, ref_state):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-12, atol=1e-14)
    for name, g in zip(("W", "b", "W2", "b2"), grads):
        np.testing.assert_allclose(g.numpy(), ref_grads[name], rtol=1e-9, atol=1e-13,
                                   err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_compiled_float32_equals_autodiff(cell):
    """What training runs: float32 under XLA, both paths compiled."""
    rng = np.random.RandomState(8)
    B, T, U, V = 4, 12, 16, 10
    params = random_params(rng, cell, 2, U, V, V)
    x = tf.constant(rng.randint(0, V, (B, T)), tf.float32)
    y = tf.constant(rng.randint(0, V, (B, T)), tf.int32)
    results = []
    for gradient in ("tbptt", "autodiff"):
        model = RNN(params, cell)
        run = tf.function(lambda x, y, s: loss_and_grads(model, x, y, s, 4, 8, gradient=gradient),
                          jit_compile=True)
        out = run(x, y, model.zero_state(B))
        results.append(tf.nest.map_structure(lambda t: t.numpy(), out))
    assert_same(*results, rtol=2e-4, atol=2e-6)


def test_graph_does_not_grow_with_the_window():
    """Loops over time, not unrolled at trace time (an unrolled 50-step LSTM took XLA
    over a minute to compile): the traced program is the same size for 5 and 50 steps."""
    sizes = []
    for T in (5, 50):
        model = RNN(init_params(np.random.RandomState(0), "lstm", 2, 8, 5, 5, "glorot"), "lstm")
        run = tf.function(lambda x, y, s: loss_and_grads(model, x, y, s))
        graph = run.get_concrete_function(tf.TensorSpec([2, T]), tf.TensorSpec([2, T], tf.int32),
                                          model.zero_state(2)).graph
        sizes.append(len(graph.as_graph_def().node)
                     + sum(len(f.node_def) for f in graph.as_graph_def().library.function))
    assert sizes[0] == sizes[1]


def test_keras_cells_take_their_gradients_from_the_tape():
    """tbptt differentiates Keras's cells by GradientTape (they have no written step
    back): the same numbers as the autodiff algorithm, and as the from-scratch twin's."""
    rng = np.random.RandomState(0)
    params = init_params(rng, "lstm", 1, 4, init="glorot")
    x = tf.constant(rng.randint(0, 2, (2, 5)), tf.float32)
    y = tf.constant(rng.randint(0, 2, (2, 5)), tf.int32)
    keras = RNN(params, "keras-lstm")
    state = keras.zero_state(2)
    by_tbptt = loss_and_grads(keras, x, y, state)
    by_tape = loss_and_grads(keras, x, y, state, gradient="autodiff")
    ours = loss_and_grads(RNN(params, "lstm"), x, y, state)
    for a, b in zip(tf.nest.flatten(by_tbptt), tf.nest.flatten(by_tape)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(by_tbptt[0]) == pytest.approx(float(ours[0]), rel=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_embedding_and_dropout_equal_autodiff_in_float64(cell):
    """A learned embedding of the symbols, and dropout masks between the layers and
    before the output layer: the hand-written backward against GradientTape."""
    rng = np.random.RandomState(7)
    B, T, U, V, N = 3, 8, 5, 6, 4
    params = init_params(rng, cell, 2, U, V, V, "glorot", embedding=N)
    x = rng.randint(0, V, (B, T)).astype(np.float32)
    y = rng.randint(0, V, (B, T)).astype(np.int32)
    state = state_for(params, cell, 2, B, rng)
    model = RNN(params, cell, dtype=tf.float64, dropout=0.4)
    masks = model.dropout_masks(tf.constant(3, tf.uint32), 11, B, T)
    assert len(masks) == 2 and 0.2 < float(np.mean(masks[0].numpy() == 0)) < 0.6
    hand, auto = both_ways(params, cell, x, y, state, masks=masks, loss_from=2, carry_at=6)
    assert_same(hand, auto)
    assert hand[3][0].shape == (V, N) and np.abs(hand[3][0]).sum() > 0  # the embedding's


def test_a_populations_masks_are_each_members_own():
    """Member p of a population draws, with its seed, the masks its single run draws."""
    rng = np.random.RandomState(8)
    members = [init_params(rng, "gru", 2, 5, 3, 3, "glorot") for _ in range(3)]
    population = PopulationRNN(members, "gru", dropout=0.5)
    together = population.dropout_masks(tf.constant([4, 9, 2], tf.uint32), 17, 2, 6)
    for p, seed in enumerate((4, 9, 2)):
        alone = RNN(members[p], "gru", dropout=0.5).dropout_masks(
            tf.constant(seed, tf.uint32), 17, 2, 6)
        for a, b in zip(together, alone):
            np.testing.assert_array_equal(a.numpy()[:, p], b.numpy())
