"""The adding problem: a number out, squared error, targets only at episode ends."""
import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import quiet_train
from rnnlab.run.records import Progress
from rnnlab.nn.losses import squared_error_loss
from rnnlab.data.series import adding_baseline, adding_series
from rnnlab.run.training import resume
from rnnlab.run.figure import new_file_figure


@pytest.mark.fast
def test_each_episode_marks_one_value_per_half_and_asks_for_their_sum():
    L = 8
    x, y = adding_series(np.random.RandomState(0), 3, 5 * L + 3, L)
    assert x.shape == (3, 43, 2) and y.shape == (3, 43)
    for r in range(3):
        for e in range(5):
            values, markers = x[r, e * L:(e + 1) * L].T
            assert markers[:L // 2].sum() == 1 and markers[L // 2:].sum() == 1
            assert y[r, (e + 1) * L - 1] == pytest.approx(values[markers == 1].sum())
    assert np.isfinite(y).sum() == 3 * 5          # one target per episode, none in the tail
    assert not x[:, 40:, 1].any()


@pytest.mark.fast
def test_baseline_is_the_error_of_always_answering_one():
    _, y = adding_series(np.random.RandomState(1), 100, 2000, 2)
    sums = y[np.isfinite(y)]
    assert ((sums - 1.0) ** 2).mean() == pytest.approx(adding_baseline(), rel=0.02)


def test_squared_error_skips_missing_targets_without_poisoning_gradients():
    import tensorflow as tf

    rng = np.random.RandomState(2)
    outputs = tf.Variable(rng.rand(6, 3, 1).astype(np.float32))
    targets = rng.rand(6, 3).astype(np.float32)
    targets[rng.rand(6, 3) < 0.6] = np.nan
    with tf.GradientTape() as tape:
        loss = squared_error_loss(outputs, tf.constant(targets), 2)
    grad = tape.gradient(loss, outputs).numpy()
    present = np.isfinite(targets[2:])
    errors = outputs.numpy()[2:, :, 0][present] - targets[2:][present]
    assert float(loss) == pytest.approx((errors ** 2).mean(), rel=1e-6)
    expected = np.zeros((6, 3))
    expected[2:][present] = 2 * errors / present.sum()
    np.testing.assert_allclose(grad[..., 0], expected, rtol=1e-5, atol=1e-7)


ADDING = dict(task="adding", cell="lstm", state_size=32, echo_step=10, truncation=10,
              series_length=8000, batch_size=20, log_every=20, seed=0, checkpoint_every=0)


@pytest.fixture(scope="module")
def adding_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adding") / "run"
    return quiet_train(folder, epochs=20, plot="file", **ADDING)


def test_lstm_learns_to_add_well_below_the_baseline(adding_run):
    # Episodes fit in a window here, so the whole dependency is within reach of BPTT.
    assert adding_run.history.epoch_loss[0] > 0.5 * adding_baseline()
    assert adding_run.history.epoch_loss[-1] < 0.1 * adding_baseline()
    rows = (adding_run.out_dir + "/metrics.csv")
    losses = np.genfromtxt(rows, delimiter=",", skip_header=1)[:, 2]
    assert np.isfinite(losses).all()  # every window of 10 steps holds an episode end


def test_eval_scores_the_episode_ends(adding_run):
    out = subprocess.run([sys.executable, "-m", "rnnlab", "eval", adding_run.out_dir,
                          "--seed", "3", "--json"], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["positions"] == 8000 // 10
    assert result["loss"] < 0.1 * adding_baseline()


def test_predict_reads_bits_so_an_adding_run_is_told_to_use_eval(adding_run):
    done = subprocess.run([sys.executable, "-m", "rnnlab", "predict", adding_run.out_dir,
                           "--bits", "0110"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"rnnlab: error: run {adding_run.out_dir!r} is a --task "
                                   f"adding run; predict reads bits (echo and dependency "
                                   f"runs); try rnnlab eval")


def test_figure_shows_values_output_and_target_sums(adding_run):
    snap = adding_run.snapshots[-1]
    view = new_file_figure(10, 20, panels="sums")
    view.update(adding_run.history.window_losses, snap)
    for r, ax in enumerate(view.fig.axes[1:]):
        heights = [rect.get_height() for rect in ax.patches]
        np.testing.assert_allclose(heights, snap.x[r, :, 0])
        output, target, answer = ax.lines
        np.testing.assert_allclose(output.get_ydata(), snap.probs[:, r, 0])
        ends = np.isfinite(snap.y[r])
        np.testing.assert_allclose(target.get_ydata(), snap.y[r][ends])
        np.testing.assert_allclose(answer.get_ydata(), snap.probs[ends, r, 0])


def test_long_episodes_leave_windows_without_a_target_and_resume_exactly(tmp_path):
    settings = {**ADDING, "echo_step": 25, "cell": "gru", "state_size": 8,
                "series_length": 2000}
    straight = quiet_train(tmp_path / "straight", epochs=3, **settings)
    losses = straight.history.losses[0]
    assert np.isnan(losses).any() and np.isfinite(losses).any()  # NaN: nothing scored
    quiet_train(tmp_path / "resumed", epochs=2, **settings)
    resume(str(tmp_path / "resumed"), epochs=3, stdout=__import__("io").StringIO())
    assert ((tmp_path / "resumed" / "metrics.csv").read_bytes()
            == (tmp_path / "straight" / "metrics.csv").read_bytes())


def test_checkpoint_keeps_float_snapshots(adding_run):
    from rnnlab.run.checkpoint import load_trained, restore_latest

    _, model = load_trained(adding_run.out_dir)
    progress = restore_latest(adding_run.out_dir, model)
    snap, kept = adding_run.snapshots[-1], progress.snapshots[-1]
    np.testing.assert_array_equal(kept.x, snap.x)
    np.testing.assert_array_equal(kept.y, snap.y)
    assert Progress.from_bytes(progress.to_bytes()).snapshots[-1].x.dtype == np.float32
