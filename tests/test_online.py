"""Gradients beyond truncation (nn/online.py, nn/bias.py): RTRL is the exact gradient
through the whole past, SnAp-1 is RTRL where the recurrent matrix is diagonal, UORO
is unbiased, TBPTT(k) meets the exact gradient once k covers the stretch; and an online
run learns what TBPTT with the same windows cannot, resuming byte for byte."""
import io
import os

import numpy as np
import pytest

from helpers import quiet_train
from rnnlab._tf import tf
from rnnlab.nn.bias import truncation_bias
from rnnlab.nn.gradients import GRADIENTS
from rnnlab.nn.model import RNN, init_params

CELLS = ("vanilla", "lstm", "gru")


def model_of(cell, seed=0, units=5, inputs=1, classes=2, diagonal=False):
    rng = np.random.RandomState(seed)
    params = init_params(rng, cell, 1, units, inputs, classes, "glorot")
    layer = params["cells"][0]
    layer["b"] = rng.randn(*layer["b"].shape) * 0.3
    if diagonal:  # each unit's recurrent weights reach only that unit, gate by gate
        W_h = layer["W"][inputs:].reshape(units, -1, units)
        layer["W"][inputs:] = (W_h * np.eye(units)[:, None, :]).reshape(units, -1)
    return RNN(params, cell, dtype=tf.float64), rng


def window_data(rng, rows=3, length=14, classes=2):
    x = tf.constant(rng.randint(0, classes, (rows, length)), tf.float64)
    y = tf.constant(rng.randint(0, classes, (rows, length)), tf.int32)
    return x, y


def two_windows(gradient, model, x, y, state, seed=None):
    """The second window's gradient, what the first one carried going into it (updates
    1 and 2 of a run of seed `seed`: UORO's signs)."""
    algorithm = GRADIENTS[gradient]
    half = x.shape[1] // 2

    def key(update):
        return None if seed is None else (seed, tf.constant(update, tf.int64))

    first = algorithm.window(model, x[:, :half], y[:, :half], state,
                             algorithm.start(model, x.shape[0]), key=key(1))
    return algorithm.window(model, x[:, half:], y[:, half:], first[2], first[3], key=key(2))


def through_the_whole_past(model, x, y, state):
    """The gradient of the second window's loss through both windows (GradientTape)."""
    with tf.GradientTape() as tape:
        logits, _ = model.unroll(x, state)
        loss = model.loss(logits, y, x.shape[1] // 2)
    return loss, tape.gradient(loss, model.params)


def start_state(model, rng, rows=3):
    return tuple(tf.constant(np.tanh(rng.randn(rows, model.units))) for _ in model.zero_state(rows))


@pytest.mark.parametrize("cell", CELLS)
def test_rtrl_is_the_gradient_through_the_whole_past(cell):
    model, rng = model_of(cell)
    x, y = window_data(rng)
    state = start_state(model, rng)
    loss, _, _, _, grads = two_windows("rtrl", model, x, y, state)
    exact_loss, exact = through_the_whole_past(model, x, y, state)
    assert float(loss) == pytest.approx(float(exact_loss), rel=1e-12)
    for g, e in zip(grads, exact):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
def test_snap1_is_rtrl_for_a_diagonal_recurrent_matrix_and_not_otherwise(cell):
    for diagonal in (True, False):
        model, rng = model_of(cell, seed=1, diagonal=diagonal)
        x, y = window_data(rng)
        state = start_state(model, rng)
        snap, rtrl = (two_windows(g, model, x, y, state)[4] for g in ("snap1", "rtrl"))
        gaps = [float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(snap, rtrl)]
        if diagonal:
            assert max(gaps) < 1e-12, gaps
        else:
            assert gaps[0] > 1e-4, gaps  # W's: the influence of the other units dropped


@pytest.mark.parametrize("cell", CELLS)
def test_uoro_averages_to_the_exact_gradient(cell):
    """Its estimate of the second window's gradient, over 400 draws of its signs: their
    mean is the exact gradient within what their spread allows. For an unbiased estimate
    the mean's squared distance from the truth is on average the sum of the variances
    over the draws (a chi-square); 4 times that fails by chance about once in 10^6."""
    model, rng = model_of(cell, seed=2, units=4)
    x, y = window_data(rng, rows=2, length=8)
    state = start_state(model, rng, rows=2)
    draws = 400
    run = tf.function(lambda seed: two_windows("uoro", model, x, y, state, seed)[4])
    estimates = [np.concatenate([g.numpy().ravel() for g in run(tf.constant(s, tf.uint32))])
                 for s in range(draws)]
    estimates = np.array(estimates)
    _, exact = through_the_whole_past(model, x, y, state)
    exact = np.concatenate([g.numpy().ravel() for g in exact])
    mean, variance = estimates.mean(axis=0), estimates.var(axis=0, ddof=1)
    distance = float(((mean - exact) ** 2).sum())
    assert distance < 4 * float(variance.sum()) / draws
    assert float(variance.sum()) > 0  # it is an estimate: draws differ
    output = slice(-(model.W2.shape.num_elements() + model.b2.shape.num_elements()), None)
    np.testing.assert_allclose(mean[output], exact[output], rtol=1e-9)  # no noise there


@pytest.mark.parametrize("cell", CELLS)
def test_truncations_bias_meets_the_exact_gradient_when_k_covers_the_stretch(cell):
    model, rng = model_of(cell, seed=3, units=6, inputs=4, classes=4)
    x = rng.randint(0, 4, (4, 12))
    y = rng.randint(0, 4, (4, 12))
    bias = truncation_bias(model, x, y, range(1, 13))
    assert bias["cosine"][-1] == pytest.approx(1.0, abs=1e-12)
    assert bias["relative_error"][-1] == pytest.approx(0.0, abs=1e-9)
    assert bias["cosine"][0] < 0.999  # one step windows miss most of it
    # The exact gradient is GradientTape's over the full unroll.
    with tf.GradientTape() as tape:
        logits, _ = model.unroll(tf.constant(x, tf.float64), model.zero_state(4))
        loss = model.loss(logits, tf.constant(y, tf.int32), 0)
    exact = np.concatenate([g.numpy().ravel() for g in tape.gradient(loss, model.params)])
    assert bias["exact"] == pytest.approx(float(np.linalg.norm(exact)), rel=1e-9)


def test_an_online_run_learns_a_lag_its_windows_cannot_span(tmp_path):
    """Windows of 2 steps: TBPTT never credits the input 4 steps back; RTRL does."""
    settings = dict(init="glorot", state_size=8, echo_step=4, truncation=2, epochs=6,
                    series_length=20000, seed=0)
    tbptt = quiet_train(tmp_path / "tbptt", **settings)
    rtrl = quiet_train(tmp_path / "rtrl", gradient="rtrl", **settings)
    assert tbptt.history.epoch_accuracy[-1] < 0.6
    assert rtrl.history.epoch_accuracy[-1] > 0.99


@pytest.mark.parametrize("gradient", ["rtrl", "snap1", "uoro"])
def test_resume_with_an_online_algorithm_is_exact(gradient, tmp_path):
    """What it carries is checkpointed: a run stopped after an epoch and resumed writes
    the same metrics.csv as one that never stopped (the LSTM: two state parts)."""
    from rnnlab.run.training import resume

    settings = dict(gradient=gradient, cell="lstm", init="glorot", state_size=4, echo_step=3,
                    truncation=2, series_length=2000, seed=1, checkpoint_every=0,
                    optimizer="adam", learning_rate=0.01)
    quiet_train(tmp_path / "straight", epochs=3, **settings)
    quiet_train(tmp_path / "stopped", epochs=2, **settings)
    resume(str(tmp_path / "stopped"), epochs=3, stdout=io.StringIO())
    assert ((tmp_path / "stopped" / "metrics.csv").read_bytes()
            == (tmp_path / "straight" / "metrics.csv").read_bytes())


def test_a_population_member_trains_as_its_single_run(tmp_path):
    """Sweeps take the gradient as an axis: members of one algorithm, one program."""
    from rnnlab.config import TrainConfig
    from rnnlab.run.training import train, train_population
    from rnnlab.settings import resolve

    base = TrainConfig(gradient="uoro", init="glorot", state_size=6, echo_step=3, truncation=2,
                       series_length=4000, epochs=2, plot="none", checkpoint_every=0)
    members = [resolve(base.replace(seed=s, out=str(tmp_path / str(s)))) for s in (1, 2)]
    together = train_population(members)
    for i, member in enumerate(members):
        alone = train(member, stdout=io.StringIO()).history
        np.testing.assert_allclose(together["loss"][i], alone.epoch_loss, rtol=2e-4)
    assert os.path.exists(tmp_path / "1" / "metrics.csv")
