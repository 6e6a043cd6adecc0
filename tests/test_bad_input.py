"""Every bad input gets one clear line and exit code 2; no traceback; no run is touched."""
import hashlib
import os
import subprocess
import sys

import pytest

from helpers import quiet_train
from rnnlab.cli import main


@pytest.fixture(scope="module")
def existing_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "run"
    quiet_train(folder, epochs=1, series_length=15000, seed=2, plot="file")
    return folder


def fingerprint(folder):
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(path.encode() + open(path, "rb").read())
    return digest.hexdigest()


CASES = [
    (["train", "--epochs", "ten"], "'ten' is not an integer"),
    (["train", "--epochs", "0"], "--epochs must be a positive integer"),
    (["train", "--state-size", "-4"], "--state-size must be a positive integer"),
    (["train", "--batch-size", "0"], "--batch-size must be a positive integer"),
    (["train", "--truncation", "2.5"], "'2.5' is not an integer"),
    (["train", "--learning-rate", "0"], "--learning-rate must be a positive number"),
    (["train", "--learning-rate", "nan"], "--learning-rate must be a positive number"),
    (["train", "--learning-rate", "fast"], "'fast' is not a number"),
    (["train", "--series-length", "50001"], "not divisible by --batch-size 5"),
    (["train", "--truncation", "20000"], "longer than a row"),
    (["train", "--echo-step", "10000"], "not shorter than a row"),
    (["train", "--seed", "-1"], "--seed must be in"),
    (["train", "--log-every", "0"], "--log-every must be a positive integer"),
    (["train", "--checkpoint-every", "-1"], "--checkpoint-every must be"),
    (["train", "--plot", "sideways"], "invalid choice: 'sideways'"),
    (["train", "--gif", "movie.png"], "--gif must name a .gif file"),
    (["train", "--out", "/etc/hostname/run"], "is not a writable folder"),
    (["train", "--out", ""], "--out must name a folder"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["train", "--out", "{run}"], "already holds files"),
    (["train", "--resume", "{run}", "--truncation", "10"], "contradicts the run's config.json"),
    (["train", "--resume", "{run}", "--force"], "cannot be combined with --force"),
    (["train", "--resume", "{missing}"], "does not exist"),
    (["train", "--resume", "/etc"], "has no config.json"),
    (["eval", "{missing}"], "does not exist"),
    (["eval", "{run}", "--series-length", "7"], "not divisible by --batch-size"),
    (["predict", "{run}", "--bits", "0110a1"], "character 'a' at position 4 is not a bit"),
    (["predict", "{run}", "--bits", "  "], "no bits given"),
    (["export", "{run}", "{run}"], "already exists and is not empty"),
    (["sample", "{run}"], "sample needs a --task text run"),
    (["train", "--task", "copy"], "--task copy needs --echo-step above 10"),
    (["train", "--cell", "transformer"], "invalid choice: 'transformer'"),
    (["train", "--task", "adding", "--echo-step", "1"], "--task adding needs --echo-step"),
    (["train", "--task", "adding", "--series-length", "100", "--batch-size", "1",
      "--truncation", "15", "--echo-step", "95"], "ends past the 90 steps"),
    (["train", "--stride", "20"], "--stride must be an integer from 1 to --truncation"),
    (["train", "--layers", "0"], "--layers must be a positive integer"),
    (["sweep", "--grid", "echo_step=1:3"], "sweep needs --out DIR"),
    (["sweep", "--out", "{missing}"], "--grid is required"),
    (["sweep", "--out", "{missing}", "--grid", "colour=1:3"], "'colour' is not a setting"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1:3", "--cell", "keras-lstm"],
     "sweeps train the from-scratch cells"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1,20000"], "grid point echo_step=20000"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1", "--plot", "live"],
     "--plot does not apply to a sweep"),
    (["report", "{run}"], "holds no finished sweep"),
    (["diagnose", "{missing}"], "does not exist"),
    (["diagnose", "{run}", "--max-lag", "0"], "--max-lag must be a positive integer"),
    ([], "the following arguments are required: COMMAND"),
]


def needs_a_run(args) -> bool:
    return any("{run}" in a for a in args)


@pytest.mark.parametrize("args, message", [c for c in CASES if needs_a_run(c[0])],
                         ids=[" ".join(a) for a, _ in CASES if needs_a_run(a)])
def test_bad_input_about_a_run(args, message, existing_run, tmp_path):
    """In a process of its own, as a user types it: these load TensorFlow."""
    before = fingerprint(existing_run)
    args = [a.format(run=existing_run, missing=tmp_path / "nope") for a in args]
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli"] + args, capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: "), done.stderr
    assert message in lines[0]
    assert fingerprint(existing_run) == before
    assert not os.path.exists(tmp_path / "runs")  # no run folder was started either


@pytest.mark.fast
@pytest.mark.parametrize("args, message", [c for c in CASES if not needs_a_run(c[0])],
                         ids=[" ".join(a) or "(none)" for a, _ in CASES if not needs_a_run(a)])
def test_bad_input(args, message, tmp_path, monkeypatch, capsys):
    """In this process (they are refused before any training): main() returns 2 and
    prints one line; an exception escaping it would fail the test."""
    monkeypatch.chdir(tmp_path)
    args = [a.format(missing=tmp_path / "nope") for a in args]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: "), lines
    assert message in lines[0]
    assert os.listdir(tmp_path) == []  # no run folder was started
