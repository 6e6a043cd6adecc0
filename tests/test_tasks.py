"""The tasks: their data, their known answers, and what truncation lets a model learn."""
import io

import numpy as np
import pytest

from helpers import quiet_train
from rnnlab.config import TrainConfig
from rnnlab.run.training import train
from rnnlab.data.series import dependency_baselines, dependency_probability, to_windows
from rnnlab.data.tasks import TASKS


def make_series(rng, task, layout, series_length, echo_step, batch_size):
    config = TrainConfig(task=task, layout=layout, series_length=series_length,
                         echo_step=echo_step, batch_size=batch_size)
    return TASKS[task].series(rng, config)


@pytest.mark.fast
def test_dependency_baselines_are_r2rts_numbers():
    b = dependency_baselines()
    assert b["neither"] == pytest.approx(0.6616, abs=1e-4)
    assert b["first"] == pytest.approx(0.5192, abs=1e-4)
    assert b["both"] == pytest.approx(0.4544, abs=1e-4)


@pytest.mark.fast
def test_dependency_series_follows_its_probabilities():
    x, y = make_series(np.random.RandomState(0), "dependency", "rows", 400000, 3, 4)
    p = dependency_probability(x)
    for value in (0.25, 0.5, 0.75, 1.0):
        assert y[p == value].mean() == pytest.approx(value, abs=0.01)


@pytest.mark.fast
def test_rows_layout_makes_every_echo_target_predictable():
    x, y = make_series(np.random.RandomState(0), "echo", "rows", 1000, 3, 5)
    np.testing.assert_array_equal(y[:, 3:], x[:, :-3])
    assert not y[:, :3].any()


@pytest.mark.fast
def test_overlapping_windows():
    a = np.arange(24).reshape(2, 12)
    w = to_windows(a, 5, 3)
    assert w.shape == (3, 2, 5)
    np.testing.assert_array_equal(w[1, 1], [15, 16, 17, 18, 19])


@pytest.mark.parametrize("truncation, low, high", [
    (2, 0.62, 0.70),   # x_{t-3} lies beyond every window: it learns neither dependency
    (10, 0.44, 0.50),  # both lie inside: below the 0.519 of knowing only the first
])
def test_dependency_plateau_depends_on_truncation(truncation, low, high, tmp_path):
    run = quiet_train(tmp_path / "run", task="dependency", truncation=truncation,
                      state_size=8, epochs=3, seed=0)
    assert low < run.history.epoch_loss[-1] < high


@pytest.mark.fast
def test_copy_episodes_show_symbols_then_ask_for_them_back():
    x, y = make_series(np.random.RandomState(0), "copy", "rows", 5 * 60, 15, 5)
    assert x.shape == y.shape == (5, 60)
    episode_x, episode_y = x[:, :25], y[:, :25]  # 15 + 10 steps; two per row, 10 blank
    symbols = episode_x[:, :10]
    assert ((1 <= symbols) & (symbols <= 8)).all()
    assert (episode_x[:, 10:14] == 0).all() and (episode_x[:, 14] == 9).all()
    np.testing.assert_array_equal(episode_y[:, 15:], symbols)
    assert not episode_y[:, :15].any() and not x[:, 50:].any() and not y[:, 50:].any()


def test_copy_run_learns_the_episode_shape_and_reports_its_baseline(tmp_path):
    """Three epochs learn where blanks and recalls fall (loss far below ln 10 = 2.30),
    not yet the symbols: the loss sits at the remembering-nothing baseline."""
    from rnnlab.data.series import copy_baseline

    out = io.StringIO()
    config = TrainConfig(task="copy", echo_step=15, cell="gru", state_size=16, truncation=25,
                         epochs=3, seed=0, series_length=25000, out=str(tmp_path / "run"),
                         plot="none")
    run = train(config, stdout=out)
    baseline = copy_baseline(15)
    assert baseline == pytest.approx(10 * np.log(8) / 25)
    assert f"remembering nothing: {baseline:.4f}" in out.getvalue()
    assert abs(run.history.epoch_loss[-1] - baseline) < 0.1
