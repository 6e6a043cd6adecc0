"""A run knows what it was trained with: its settings (every checkpoint keeps them) and
its text (where the file is, its size, the hash of its bytes). A hand-edited config.json
or a changed file is refused in one line, naming the difference, and nothing in the run
folder changes; what a resume may change it changes with its own flags."""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import quiet_train

ALICE = os.path.join(os.path.dirname(__file__), "data", "alice.txt")
RNNLAB = [sys.executable, "-m", "rnnlab"]
SHORT = dict(series_length=4000, seed=3, checkpoint_every=0)


def rnnlab(*args, cwd=None):
    return subprocess.run(RNNLAB + [str(a) for a in args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def fingerprint(folder) -> str:
    digest = hashlib.sha256()
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(path.encode() + open(path, "rb").read())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def echo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("echo") / "run"
    quiet_train(folder, epochs=2, **SHORT)
    return folder


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """Trained in a folder of its own, from a copy of alice.txt named by a relative path."""
    home = tmp_path_factory.mktemp("text")
    shutil.copy(ALICE, home / "alice.txt")
    done = rnnlab("train", "--task", "text", "--data", "alice.txt", "--truncation", "10",
                  "--batch-size", "4", "--state-size", "8", "--epochs", "2", "--seed", "1",
                  "--val-fraction", "0.1", "--test-fraction", "0.1", "--plot", "none",
                  "--checkpoint-every", "0", "--out", "run", cwd=home)
    assert done.returncode == 0, done.stderr
    return home


def edited(run, tmp_path, **changes):
    """A copy of `run` whose config.json was edited by hand: keys set, or (None) deleted."""
    copy = tmp_path / "edited"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    for name, value in changes.items():
        if value is None:
            del config[name]
        else:
            config[name] = value
    (copy / "config.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize("changes, named", [
    ({"echo_step": 5}, "echo_step is 5 there, 3 in the checkpoint"),
    ({"learning_rate": 0.1}, "learning_rate is 0.1 there, 0.3 in the checkpoint"),
    ({"task": "dependency"}, "task is 'dependency' there, 'echo' in the checkpoint"),
    ({"epochs": None}, "it lacks epochs (2 in the checkpoint)"),
    ({"echo_step": None, "seed": None}, "it lacks echo_step (3 in the checkpoint); it lacks seed"),
], ids=["echo_step", "learning_rate", "task", "no epochs", "no echo_step, no seed"])
def test_a_hand_edited_config_is_not_resumed(changes, named, echo_run, tmp_path):
    run = edited(echo_run, tmp_path, **changes)
    before = fingerprint(run)
    done = rnnlab("train", "--resume", run, "--epochs", "3")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"rnnlab: error: {run}/config.json is not what the run was "
                           f"trained with: ") and named in line
    assert fingerprint(run) == before


def test_a_hand_edited_vocabulary_is_not_sampled(text_run, tmp_path):
    run = edited(text_run / "run", tmp_path)
    config = json.loads((run / "config.json").read_text())
    vocab = config["vocab"]
    config["vocab"] = vocab[1:] + vocab[0]  # the same characters, in another order
    (run / "config.json").write_text(json.dumps(config))
    done = rnnlab("sample", run, "--length", "5")
    assert done.returncode == 2
    assert "vocab is " in done.stderr and "in the checkpoint" in done.stderr


def test_what_a_resume_changes_it_changes_by_its_flags_and_records(echo_run, tmp_path):
    """--epochs and --learning-rate (fine-tuning): config.json and epochs.csv say so, and
    the run resumes again from then on, a checkpoint written at once agreeing with it."""
    run = tmp_path / "run"
    shutil.copytree(echo_run, run)
    done = rnnlab("train", "--resume", run, "--epochs", "3", "--learning-rate", "0.05")
    assert done.returncode == 0, done.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["epochs"] == 3 and config["learning_rate"] == 0.05
    with open(run / "epochs.csv") as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert rates == [0.3, 0.3, 0.05]
    assert rnnlab("train", "--resume", run, "--epochs", "4").returncode == 0


def test_a_text_run_is_used_from_any_folder(text_run, tmp_path):
    """config.json names the file by where it is, not by the path the command was given."""
    config = json.loads((text_run / "run" / "config.json").read_text())
    assert config["data"] == str(text_run / "alice.txt")
    assert config["data_bytes"] == os.path.getsize(ALICE)
    assert config["data_sha256"] == hashlib.sha256(open(ALICE, "rb").read()).hexdigest()
    run = tmp_path / "run"
    shutil.copytree(text_run / "run", run)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert rnnlab("eval", run, "--json", cwd=elsewhere).returncode == 0
    done = rnnlab("train", "--resume", run, "--epochs", "3", cwd=elsewhere)
    assert done.returncode == 0, done.stderr


def test_a_text_that_changed_is_refused_and_a_moved_one_is_named_again(text_run, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(text_run, home)
    run, data = home / "run", home / "alice.txt"
    config = json.loads((run / "config.json").read_text())
    config["data"] = str(data)
    (run / "config.json").write_text(json.dumps(config))
    text = data.read_text()
    swapped = text[1] + text[0] + text[2:]  # the same characters, two of them swapped
    data.write_text(swapped)
    before = fingerprint(run)
    done = rnnlab("train", "--resume", run, "--epochs", "3")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "has changed since the run began" in line
    assert fingerprint(run) == before  # its .lock included: refused before it was taken
    data.write_text(text)
    moved = tmp_path / "moved.txt"
    os.rename(data, moved)
    done = rnnlab("train", "--resume", run, "--epochs", "3")
    assert done.returncode == 2 and "name its new place with --data FILE" in done.stderr
    done = rnnlab("train", "--resume", run, "--epochs", "3", "--data", moved)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "config.json").read_text())["data"] == str(moved)
