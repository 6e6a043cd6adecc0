"""A run epoch by epoch, as a user follows it: early stopping (--patience), one line an
epoch (--quiet), the learning curves (curves.png), and `rnnlab runs`."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import quiet_train

ALICE = os.path.join(os.path.dirname(__file__), "data", "alice.txt")
RNNLAB = [sys.executable, "-m", "rnnlab"]
# A rate this high on this tiny file overfits within a few epochs: validation turns up.
OVERFITS = dict(task="text", data=ALICE, truncation=10, batch_size=4, state_size=16,
                val_fraction=0.1, test_fraction=0.1, optimizer="adam", learning_rate=0.05,
                seed=0, checkpoint_every=100)


def rnnlab(*args):
    return subprocess.run(RNNLAB + [str(a) for a in args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    out = io.StringIO()
    from rnnlab.config import TrainConfig
    from rnnlab.run.training import train

    folder = tmp_path_factory.mktemp("patience") / "run"
    run = train(TrainConfig(out=str(folder), epochs=30, patience=2, plot="file", **OVERFITS),
                stdout=out)
    return run, out.getvalue()


def test_patience_stops_when_validation_stops_improving(stopped):
    run, printed = stopped
    val = run.history.val_losses
    best = int(np.argmin(val))
    assert len(val) == best + 3 < 30                    # two epochs past the best, then stop
    assert all(v >= val[best] for v in val[best + 1:])
    assert (f"Stopping early: the validation loss has not improved for 2 epochs (--patience 2); "
            f"the best, {val[best]:.4f}, was epoch {best}'s") in printed


def test_a_run_stopped_early_says_so_and_goes_on_with_more_patience(stopped, tmp_path):
    import shutil

    run, _ = stopped
    copy = tmp_path / "run"
    shutil.copytree(run.out_dir, copy)
    done = rnnlab("train", "--resume", copy)
    assert done.returncode == 2 and "stopped early after epoch" in done.stderr
    assert "pass --patience N with N > 2" in done.stderr
    done = rnnlab("train", "--resume", copy, "--patience", "3", "--quiet")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Epoch {len(run.history.losses)} done: ")  # exactly one more
    assert lines[1].startswith("Stopping early: the validation loss has not improved for 3")


def test_curves_png_draws_the_runs_epochs(stopped):
    from rnnlab.run.curves import draw_curves

    run, _ = stopped
    assert open(os.path.join(run.out_dir, "curves.png"), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    loss_axes, accuracy_axes = draw_curves(run.history, "title").axes
    train, val = loss_axes.lines
    np.testing.assert_allclose(train.get_ydata(), run.history.epoch_loss)
    np.testing.assert_allclose(val.get_ydata(), run.history.val_losses)
    assert accuracy_axes.lines[1].get_ydata()[-1] == pytest.approx(run.history.val_accuracies[-1])


def test_quiet_prints_one_line_an_epoch(tmp_path):
    done = rnnlab("train", "--epochs", "3", "--series-length", "5000", "--quiet",
                  "--plot", "none", "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0 done", "Epoch 1 done",
                                                      "Epoch 2 done", f"Run written to {tmp_path}/run"]


def test_text_epochs_say_they_read_the_training_part(tmp_path):
    out = io.StringIO()
    from rnnlab.config import TrainConfig
    from rnnlab.run.training import train

    train(TrainConfig(out=str(tmp_path / "run"), epochs=1, plot="none",
                      **{**OVERFITS, "checkpoint_every": 0}), stdout=out)
    assert out.getvalue().startswith("Training part, epoch 0\n")


def test_runs_lists_each_run_with_how_far_it_came(stopped, tmp_path):
    run, _ = stopped
    folder = tmp_path / "runs"
    folder.mkdir()
    quiet_train(folder / "echo", epochs=2, series_length=5000, seed=1)
    os.symlink(run.out_dir, folder / "text")
    (folder / "not-a-run").mkdir()
    done = rnnlab("runs", folder)
    assert done.returncode == 0, done.stderr
    header, echo, text = done.stdout.splitlines()
    assert header.split() == ["run", "task", "cell", "units", "epochs", "best", "val", "loss",
                              "last", "train", "loss", "state"]
    assert echo.split()[1:5] == ["echo", "vanilla", "4", "2/2"] and echo.endswith("finished")
    epochs = len(run.history.losses)
    assert text.split()[1:6] == ["text", "vanilla", "16", f"{epochs}/30",
                                 f"{min(run.history.val_losses):.4f}"]
    assert text.endswith("stopped")
