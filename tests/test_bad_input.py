"""Every bad input gets one clear line and exit code 2; no traceback; no run is touched."""
import hashlib
import json
import os
import shutil
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
    (["train", "--learning-rate", "1e300"], "--learning-rate must be at most 3.4e+38"),
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
    (["sample", "{run}"], "sample needs a --task text or words run"),
    (["train", "--task", "copy"], "--task copy needs --copy-delay (or --echo-step) above 10"),
    (["train", "--cell", "transformer"], "invalid choice: 'transformer'"),
    (["train", "--task", "adding", "--echo-step", "1"], "--task adding needs --episode-length (or --echo-step)"),
    (["train", "--task", "adding", "--series-length", "100", "--batch-size", "1",
      "--truncation", "15", "--echo-step", "95"], "ends past the 90 steps"),
    (["train", "--stride", "20"], "--stride must be an integer from 1 to --truncation"),
    (["train", "--layers", "0"], "--layers must be an integer from 1 to 1000"),
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
    # Paths that cannot be written or read as asked, found before any work.
    (["train", "--out", "/proc/nope/run"], "run folder '/proc/nope/run' cannot be written"),
    (["train", "--gif", "/proc/nope/training.gif"], "--gif folder '/proc/nope' cannot be written"),
    (["train", "--task", "text", "--data", "/dev/zero"], "is not a regular file"),
    (["train", "--task", "text", "--data", "{fifo}"], "is not a regular file"),
    (["export", "{run}", "/proc/nope"], "export folder '/proc/nope' cannot be written"),
    (["report", "{results_only}"], "holds no finished sweep (no sweep.json)"),
    (["report", "{missing}", "--out", "/proc/nope/page.md"], "holds no finished sweep"),
    # Settings whose work or memory has no bound.
    (["train", "--state-size", "1000000"], "need about"),
    (["train", "--series-length", "1000000000000"], "an epoch's data"),
    (["train", "--epochs", "1000000000000000"], "the loss history"),
    (["eval", "{run}", "--series-length", "1000000000000"], "an epoch's data"),
    (["diagnose", "{run}", "--max-lag", "1000000"], "--max-lag 1000000 is too long"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1:100000000"], "grid points"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1:3", "--seeds", "1000000000"],
     "networks"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1:3", "--heartbeat", "1000000000"],
     "--heartbeat must be a number of seconds from 1 to"),
    (["sweep", "--out", "{missing}", "--grid", "echo_step=1:3", "--storage", "nosuchdb://x"],
     "--storage 'nosuchdb://x'"),
    # A task's own name for its lag, used where it means nothing or contradicts.
    (["train", "--copy-delay", "15"], "--copy-delay is for --task copy"),
    (["train", "--task", "text", "--data", "{alice}", "--echo-step", "3"],  # its default
     "--echo-step does not apply to --task text"),
    (["train", "--task", "copy", "--copy-delay", "15", "--echo-step", "12"],
     "--copy-delay 15 contradicts --echo-step 12"),
    # Held-out parts and the training tools.
    (["train", "--task", "text", "--data", "{alice}", "--val-fraction", "0.5"],
     "--val-fraction must be a number in [0, 0.5)"),
    (["train", "--task", "text", "--data", "{alice}", "--test-fraction", "-0.1"],
     "--test-fraction must be a number in [0, 0.5)"),
    (["train", "--task", "text", "--data", "{alice}", "--batch-size", "4", "--truncation", "20",
      "--val-fraction", "0.01"], "its validation part has 16 characters"),
    (["train", "--val-fraction", "0.1"], "--val-fraction does not apply to --task echo"),
    (["train", "--clip", "0"], "--clip must be a positive number"),
    (["train", "--clip", "-1"], "--clip must be a positive number"),
    (["train", "--optimizer", "adadelta"], "invalid choice: 'adadelta'"),
    (["train", "--dropout", "1"], "--dropout must be a number in [0, 1)"),
    (["train", "--lr-decay", "1.5"], "--lr-decay must be a number in (0, 1]"),
    (["train", "--embedding", "8"], "--embedding does not apply to --task echo (its inputs "
     "are not symbols); it is for --task copy, text or words"),
    (["train", "--task", "adding", "--echo-step", "10", "--embedding", "8"],
     "--embedding does not apply to --task adding"),
    (["train", "--task", "words", "--data", "{alice}", "--max-vocab", "1"],
     "--max-vocab must be at least 2"),
    (["train", "--max-vocab", "5"], "--max-vocab does not apply to --task echo; it is for --task words"),
    (["train", "--task", "text", "--data", "{alice}", "--series-length", "1000"],
     "--series-length does not apply to --task text"),
    (["eval", "{run}", "--split", "val"], "it has no file to split"),
    # A flag written in part, or as another tool writes it: refused, the flag meant named,
    # the command's own help pointed at (argparse would take --lr for --lr-decay).
    (["train", "--lr", "0.1"], "--lr: did you mean --learning-rate or --lr-decay?) (see "
     "'rnnlab train --help')"),
    (["train", "--epoch", "5"], "--epoch: did you mean --epochs?"),
    (["train", "--state", "8"], "--state: did you mean --state-size?"),
    (["train", "--state_size", "8"], "--state_size: did you mean --state-size?"),
    (["eval", "{missing}", "--sed", "3"], "--sed: did you mean --seed?) (see 'rnnlab eval --help')"),
    # One rule for a flag that means nothing to the task: refused, saying whom it is for.
    (["train", "--task", "text", "--data", "{alice}", "--echo-step", "5"],
     "--echo-step does not apply to --task text; it is for --task echo, copy or adding"),
    (["train", "--task", "dependency", "--echo-step", "5"], "(its lags are fixed: 3 and 8)"),
    (["train", "--task", "copy", "--copy-delay", "15", "--layout", "rows"],
     "--layout does not apply to --task copy"),
    (["train", "--task", "words", "--data", "{alice}", "--layout", "rows"],
     "--layout does not apply to --task words"),
    # A task's own name for its lag is the one the error names.
    (["train", "--task", "copy", "--copy-delay", "0"], "--copy-delay must be a positive integer"),
    (["train", "--task", "adding", "--episode-length", "-1"],
     "--episode-length must be a positive integer"),
    # Every number has a bound, and what would take the memory is named.
    (["train", "--layers", "1000000000000"], "--layers must be an integer from 1 to 1000"),
    (["train", "--epochs", "100000000000000000000"], "--epochs must be at most"),
    (["train", "--task", "copy", "--copy-delay", "15", "--embedding", "1000000000000"],
     "(the embedding: "),
    (["train", "--state-size", "20000", "--layers", "900"], "try a smaller --state-size or --layers"),
    # What an online gradient algorithm cannot do, and what it would cost.
    (["train", "--gradient", "rtrl", "--cell", "lstm", "--state-size", "256"],
     "--gradient rtrl with 256 units would take about 7.0e+10 operations a step and row (at "
     "most 2e+09; it grows as n^4); try a smaller --state-size"),
    (["train", "--gradient", "uoro", "--layers", "2"], "not with --layers above 1"),
    (["train", "--gradient", "snap1", "--cell", "keras-gru"], "not with --cell keras-gru"),
    (["train", "--gradient", "rtrl", "--stride", "5"], "not with --stride"),
    (["train", "--gradient", "rtrl", "--task", "copy", "--copy-delay", "15", "--embedding", "4"],
     "not with --embedding"),
    (["train", "--gradient", "rtrl", "--state-size", "64", "--batch-size", "20000",
      "--series-length", "2000000"], "(the gradient's influence: "),
    (["train", "--gradient", "bptt"], "invalid choice: 'bptt'"),
]


def needs_a_run(args) -> bool:
    return any("{run}" in a for a in args)


def placeholders(tmp_path, run=None) -> dict:
    """What a case's {names} stand for: a run, a missing path, a named pipe, a folder
    with a sweep's results.csv but not its sweep.json."""
    fifo, results_only = tmp_path / "pipe", tmp_path / "half-sweep"
    os.mkfifo(fifo)
    results_only.mkdir()
    (results_only / "results.csv").write_text("echo_step,seed,loss,accuracy,epochs_to_solve\n")
    return {"run": run, "missing": tmp_path / "nope", "fifo": fifo, "results_only": results_only,
            "alice": os.path.join(os.path.dirname(__file__), "data", "alice.txt")}


@pytest.mark.parametrize("args, message", [c for c in CASES if needs_a_run(c[0])],
                         ids=[" ".join(a) for a, _ in CASES if needs_a_run(a)])
def test_bad_input_about_a_run(args, message, existing_run, tmp_path):
    """In a process of its own, as a user types it: these load TensorFlow."""
    before = fingerprint(existing_run)
    names = placeholders(tmp_path, existing_run)
    args = [a.format(**names) for a in args]
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
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    names = placeholders(inputs)
    args = [a.format(**names) for a in args]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: "), lines
    assert message in lines[0]
    assert os.listdir(work) == [] and not os.path.exists(inputs / "nope")  # nothing started


EDITS = [  # (what a hand edit or damage did to config.json, the line that says so)
    ('["not", "an", "object"]', "holds no readable config: it holds list"),
    ('{"truncation": -1}', "holds a setting that cannot work: --truncation must be a positive"),
    ('{"cell": "transformer"}', "--cell must be one of"),
    ('{"state_size": "4"}', "--state-size must be a positive integer, got '4'"),
    ('{"learning_rate": "fast"}', "--learning-rate must be a positive number"),
    ('{"task": "text", "data": "x.txt", "vocab": null}', "needs its symbols (vocab)"),
    ('{"epochs": 1', "holds no readable config"),
    ('\u00ff\u00fe', "holds no readable config"),
]


@pytest.mark.parametrize("edit, message", EDITS, ids=[e for e, _ in EDITS])
def test_a_damaged_config_json_is_named_by_every_command(edit, message, existing_run, tmp_path,
                                                         capsys):
    run = tmp_path / "run"
    shutil.copytree(existing_run, run)
    config = json.loads((run / "config.json").read_text())
    if edit.startswith("{") and edit.endswith("}"):
        text = json.dumps({**config, **json.loads(edit)})
    else:
        text = edit
    (run / "config.json").write_text(text, encoding="latin-1" if "\u00ff" in edit else "utf-8")
    before = fingerprint(run)
    for command in (["eval", str(run)], ["predict", str(run), "--bits", "01"],
                    ["export", str(run), str(tmp_path / "x")], ["sample", str(run)],
                    ["diagnose", str(run)], ["train", "--resume", str(run)]):
        assert main(command) == 2, command
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 6
    for line in lines:
        assert line.startswith(f"rnnlab: error: {run}/config.json holds ") and message in line
    assert fingerprint(run) == before


def test_a_config_that_does_not_fit_its_checkpoints_is_not_called_damaged(existing_run,
                                                                          tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(existing_run, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "state_size": 8}))
    assert main(["eval", str(run), "--series-length", "1000"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "config.json does not fit the run's checkpoints" in line and "edited" in line
