"""Runs that survive: exact resume, interrupts, damaged checkpoints, divergence."""
import io
import os
import signal
import subprocess
import sys

import pytest

from rnnlab.run.checkpoint import CheckpointError, checkpoint_paths
from helpers import quiet_train
from rnnlab.errors import TrainingDiverged
from rnnlab.run.training import resume

SMALL = dict(series_length=15000, seed=5, checkpoint_every=0)


def run_folder(tmp_path, name, epochs, **settings):
    quiet_train(tmp_path / name, epochs=epochs, **{**SMALL, **settings})
    return tmp_path / name


def test_resume_is_bit_exact(tmp_path):
    straight = run_folder(tmp_path, "straight", 4)
    resumed = run_folder(tmp_path, "resumed", 2)
    out = io.StringIO()
    run = resume(str(resumed), epochs=4, stdout=out)
    assert out.getvalue().startswith("New data, epoch 2\n")
    assert (resumed / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()
    assert len(run.history.losses) == 4
    assert '"epochs": 4' in (resumed / "config.json").read_text()


def test_every_epoch_end_writes_a_checkpoint_and_a_few_are_kept(tmp_path):
    run = run_folder(tmp_path, "run", 5)
    assert [os.path.basename(p) for p in checkpoint_paths(str(run))] == ["ckpt-5", "ckpt-4", "ckpt-3"]


def test_newest_damaged_checkpoint_falls_back_to_an_older_one(tmp_path, capsys):
    straight = run_folder(tmp_path, "straight", 4)
    damaged = run_folder(tmp_path, "damaged", 3)
    newest = checkpoint_paths(str(damaged))[0] + ".data-00000-of-00001"
    with open(newest, "r+b") as f:
        f.truncate(os.path.getsize(newest) // 2)
    resume(str(damaged), epochs=4, stdout=io.StringIO())
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "ckpt-3 is unreadable" in warning[0]
    assert (damaged / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()


def test_no_readable_checkpoint_stops_with_an_error(tmp_path):
    run = run_folder(tmp_path, "run", 2)
    metrics = (run / "metrics.csv").read_bytes()
    for prefix in checkpoint_paths(str(run)):
        with open(prefix + ".data-00000-of-00001", "wb") as f:
            f.write(b"garbage")
    with pytest.raises(CheckpointError, match="all 2 are damaged"):
        resume(str(run), epochs=3, stdout=io.StringIO())
    assert (run / "metrics.csv").read_bytes() == metrics


def test_a_loss_that_is_not_finite_stops_training_and_keeps_the_checkpoint(tmp_path):
    run = run_folder(tmp_path, "run", 1)
    kept = checkpoint_paths(str(run))
    metrics = (run / "metrics.csv").read_bytes()
    # Make the run's next epoch diverge: a learning rate that overflows float32 weights.
    with pytest.raises(TrainingDiverged, match=r"loss became (inf|nan) at epoch 1, window \d+; "
                                               r"the last good checkpoint \(after epoch 0\) is kept"):
        resume(str(run), epochs=2, learning_rate=1e38, stdout=io.StringIO())
    assert checkpoint_paths(str(run))[1:] == kept[:2]  # one more: the rate it goes on with
    assert (run / "metrics.csv").read_bytes() == metrics


def test_a_run_that_diverges_at_once_says_so(tmp_path):
    with pytest.raises(TrainingDiverged, match="at epoch 0, window .*no checkpoint was written"):
        run_folder(tmp_path, "run", 1, learning_rate=1e38)


def test_resume_after_sigterm_mid_epoch_equals_the_uninterrupted_run(tmp_path):
    # Epochs of 40000 windows (~1 s), so SIGTERM lands in the middle of one.
    settings = ["--series-length", "3000000", "--seed", "3", "--plot", "none", "--log-every", "1000"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cli = [sys.executable, "-m", "rnnlab.cli", "train"]
    proc = subprocess.Popen(cli + ["--epochs", "2", "--out", str(killed)] + settings,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    in_epoch_1 = False
    for line in proc.stdout:
        in_epoch_1 = in_epoch_1 or line.startswith("New data, epoch 1")
        if in_epoch_1 and line.startswith("Step 2000"):
            proc.send_signal(signal.SIGTERM)  # mid-epoch 1, after epoch 0's checkpoint
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted at epoch 1, window" in err and f"--resume {killed}" in err
    assert "Epoch 1 done" not in out

    resumed = subprocess.run(cli + ["--resume", str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Resuming epoch 1 at window ")
    done = subprocess.run(cli + ["--epochs", "2", "--out", str(straight)] + settings,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (killed / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()
