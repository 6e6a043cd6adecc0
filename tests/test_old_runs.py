"""Runs and sweeps made before the reshape into rooms (tests/data/before-reshape, by the
code as it was then) stay readable: a run resumes byte for byte where it stopped, equal
to the run that was never stopped, and eval, sample and report read them."""
import io
import os
import shutil
import subprocess
import sys

import pytest

from rnnlab.run.training import resume

OLD = os.path.join(os.path.dirname(__file__), "data", "before-reshape")
ROOT = os.path.join(os.path.dirname(__file__), "..")
RNNLAB = [sys.executable, "-m", "rnnlab"]


def copy_of(name, tmp_path):
    shutil.copytree(os.path.join(OLD, name), tmp_path / name)
    return tmp_path / name


def uninterrupted(name: str, file: str) -> str:
    with open(os.path.join(OLD, f"{name}-4-epochs-{file}")) as f:
        return f.read()


@pytest.mark.parametrize("name", ["echo-run", "text-run"])
def test_an_old_run_resumes_exactly_as_it_would_have_gone_on(name, tmp_path, monkeypatch):
    """Stopped after 2 of 4 epochs by the old code; resumed by this one, its metrics.csv
    is byte for byte the old code's uninterrupted 4 epochs (the text run: a 2-layer LSTM
    with Adam, clipping, dropout, an embedding and decay; its config names its data by
    a path relative to the repository, where it was trained)."""
    run = copy_of(name, tmp_path)
    monkeypatch.chdir(ROOT)
    resume(str(run), epochs=4, stdout=io.StringIO())
    assert (run / "metrics.csv").read_text() == uninterrupted(name, "metrics.csv")
    if name == "text-run":  # epochs.csv too, but for the seconds each epoch took
        def columns(text):
            return [row.rsplit(",", 1)[0] for row in text.splitlines()]
        assert columns((run / "epochs.csv").read_text()) == columns(
            uninterrupted(name, "epochs.csv"))


def test_eval_and_sample_read_an_old_text_run(tmp_path):
    run = copy_of("text-run", tmp_path)
    for command in (["eval", str(run), "--split", "val", "--json"],
                    ["sample", str(run), "--length", "20", "--seed", "1", "--prime", "Alice"]):
        done = subprocess.run(RNNLAB + command, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert done.stdout.startswith("Alice") and len(done.stdout.strip()) == 25


def test_report_and_a_rerun_read_an_old_sweep(tmp_path):
    sweep = copy_of("sweep", tmp_path)
    before = (sweep / "results.csv").read_text()
    page = tmp_path / "page.md"
    done = subprocess.run(RNNLAB + ["report", str(sweep), "--out", str(page)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "| truncation | echo_step learnt |" in page.read_text()
    # Re-running the finished sweep trains nothing and writes the same results.
    done = subprocess.run(RNNLAB + ["sweep", "--grid", "echo_step=1,2", "truncation=4,8",
                                    "--seeds", "2", "--epochs", "2", "--series-length", "1000",
                                    "--out", str(sweep)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "This worker trained 0 of 2 populations" in done.stdout
    assert (sweep / "results.csv").read_text() == before
