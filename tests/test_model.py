import numpy as np
import pytest

import numpy_bptt
from rnnlab._tf import tf
from helpers import loss_and_grads, settings_of
from rnnlab.nn.model import EchoRNN, tutorial_init
from rnnlab.nn.optim import Adagrad
from rnnlab.data.series import echo_series, to_windows
from rnnlab.run.tbptt import compile_window_runner


def window(seed=0, batch=5, T=15, S=4):
    rng = np.random.RandomState(seed)
    params = tutorial_init(rng, S)
    params["W"] -= 0.5          # mixed signs, so tanh is not saturated everywhere
    params["b"] = rng.randn(1, S) * 0.1
    x = rng.randint(0, 2, (batch, T))
    y = rng.randint(0, 2, (batch, T))
    h0 = np.tanh(rng.randn(batch, S))
    return params, x, y, h0


def test_gradients_match_numpy_bptt():
    params, x, y, h0 = window()
    model = EchoRNN(params, dtype=tf.float64)
    loss, _, (h_last,), grads = loss_and_grads(model, tf.constant(x, tf.float64),
                                               tf.constant(y, tf.int32), (tf.constant(h0),))
    ref_loss, ref_grads, ref_h = numpy_bptt.loss_and_grads(params, x, y, h0)
    assert loss.numpy() == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(h_last.numpy(), ref_h, rtol=1e-12)
    for name, g in zip(("W", "b", "W2", "b2"), grads):
        np.testing.assert_allclose(g.numpy(), ref_grads[name], rtol=1e-10, atol=1e-14,
                                   err_msg=name)


def test_handwritten_gradients_match_autodiff_in_float32():
    params, x, y, h0 = window(seed=1)
    model = EchoRNN(params)
    xs, ys, hs = tf.constant(x, tf.float32), tf.constant(y, tf.int32), tf.constant(h0, tf.float32)
    with tf.GradientTape() as tape:
        logits, _ = model.unroll(xs, (hs,))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.transpose(ys), logits=logits))
    auto = tape.gradient(loss, model.params)
    hand_loss, _, _, hand = loss_and_grads(model, xs, ys, (hs,))
    assert hand_loss.numpy() == pytest.approx(loss.numpy(), rel=1e-6)
    for a, h in zip(auto, hand):
        np.testing.assert_allclose(h.numpy(), a.numpy(), rtol=1e-4, atol=1e-7)


def test_carried_state_equals_one_long_unrolled_pass():
    """The compiled TBPTT loop (learning rate 0) hands each window's final state to the
    next: the last state equals one forward pass over the whole row."""
    config = settings_of(series_length=600, batch_size=5, truncation=15, seed=0)
    rng = np.random.RandomState(0)
    model = EchoRNN(tutorial_init(rng, 4))
    runner = compile_window_runner(model, Adagrad(model.params), config)
    x, y = echo_series(rng, config.series_length, config.echo_step, config.batch_size)
    xw = to_windows(x, 15).astype(np.float32)
    _, _, (state,), _, _ = runner(xw, to_windows(y, 15).astype(np.int32),
                                  model.zero_state(5), (), 0, config.num_windows, -1,
                               np.float32(0.0), np.int64(0))
    used = x[:, :config.num_windows * 15].astype(np.float32)
    _, (last,) = model.unroll(tf.constant(used), model.zero_state(5))
    np.testing.assert_allclose(state.numpy(), last.numpy(), rtol=1e-5, atol=1e-6)
    assert config.num_windows == 8


def test_tutorial_init_is_all_positive_uniform():
    p = tutorial_init(np.random.RandomState(0), 4)
    assert p["W"].shape == (5, 4) and p["W2"].shape == (4, 2)
    assert (p["W"] >= 0).all() and (p["W"] < 1).all() and not p["b"].any()


@pytest.mark.parametrize("stride", [5, 15])
def test_tbptt_k1_k2_equals_the_explicit_unrolled_reference(stride):
    """--stride k1 with --truncation k2: the compiled loop's weights after several
    windows equal a NumPy TBPTT(k1, k2) written out step by step."""
    config = settings_of(series_length=600, truncation=15, stride=stride, seed=0)
    rng = np.random.RandomState(0)
    params = tutorial_init(rng, 4)
    params["W"] -= 0.5  # mixed signs: gradients that are not all alike
    model = EchoRNN(params)
    runner = compile_window_runner(model, Adagrad(model.params), config)
    x, y = echo_series(rng, config.series_length, config.echo_step, config.batch_size)
    windows = 6
    runner(to_windows(x, 15, stride).astype(np.float32), to_windows(y, 15, stride).astype(np.int32),
           model.zero_state(5), (), 0, windows, -1, np.float32(0.3), np.int64(0))
    expected = numpy_bptt.tbptt(params, x, y, k1=stride, k2=15, windows=windows)
    for name, variable in zip(("W", "b", "W2", "b2"), model.params):
        np.testing.assert_allclose(variable.numpy(), expected[name], rtol=2e-4, atol=1e-5,
                                   err_msg=name)
    # rows of 120 steps: windows start at 0, 5, ..., 105 (stride 5) or 0, 15, ..., 105
    assert config.num_windows == {5: 22, 15: 8}[stride]
