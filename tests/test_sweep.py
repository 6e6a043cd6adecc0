"""rnnlab sweep: grids, shared studies (two workers on SQLite and on PostgreSQL), a
killed worker's points taken again, finished points never redone."""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from postgres import Server, server_binaries
from rnnlab.config import ConfigError
from rnnlab.sweep import make_plan, parse_axis

RNNLAB = [sys.executable, "-m", "rnnlab"]
# 3 truncations -> 3 populations of 2 echo steps x 2 seeds.
GRID = ["--grid", "echo_step=1:2", "truncation=2,3,5", "--seeds", "2", "--epochs", "2", "--init", "glorot",
        "--series-length", "2000"]


def sweep(out, *extra, wait=True):
    command = RNNLAB + ["sweep", *GRID, "--out", str(out), *extra]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def trained(stdout: str) -> int:
    line = [l for l in stdout.splitlines() if l.startswith("This worker trained")][0]
    return int(line.split()[3])


def results(out):
    with open(os.path.join(out, "results.csv")) as f:
        return list(csv.DictReader(f))


def test_grid_axes_parse_ranges_and_lists():
    assert parse_axis("echo_step=1:4") == ("echo_step", (1, 2, 3, 4))
    assert parse_axis("learning-rate=0.1,0.3") == ("learning_rate", (0.1, 0.3))
    assert parse_axis("cell=lstm,gru") == ("cell", ("lstm", "gru"))
    for bad, message in (("echo_step", "write NAME=A:B"), ("colour=1:2", "not a setting"),
                         ("echo_step=5:2", "is empty"), ("learning_rate=1:3", "needs an integer"),
                         ("seed=1:3", "not a setting"), ("state_size=4,x", "'x' is not an integer")):
        with pytest.raises(ConfigError, match=message):
            parse_axis(bad)


def test_points_sharing_shapes_train_as_one_population():
    plan = make_plan({"epochs": 1}, ["echo_step=1:3", "truncation=5,10", "learning_rate=0.1,0.3"], 4)
    units = plan.units()
    assert len(plan.points()) == 12 and len(units) == 2            # one per truncation
    assert sorted(len(u) for u in units) == [24, 24]
    with pytest.raises(ConfigError, match="grid point echo_step=30 truncation=5: --echo-step 30"):
        make_plan({"series_length": 100, "batch_size": 4}, ["echo_step=1,30", "truncation=5"], 1)


def test_sweep_writes_results_and_heatmaps_and_never_redoes_a_point(tmp_path):
    done = sweep(tmp_path / "s")
    assert done.returncode == 0, done.stderr
    assert trained(done.stdout) == 3
    rows = results(tmp_path / "s")
    assert len(rows) == 2 * 3 * 2
    assert list(rows[0]) == ["echo_step", "truncation", "seed", "loss", "accuracy", "epochs_to_solve"]
    echo1 = [r for r in rows if r["echo_step"] == "1"]
    assert all(float(r["accuracy"]) > 0.9 for r in echo1)     # lag 1 is learnt at once
    for name in ("accuracy.png", "epochs_to_solve.png"):
        assert (tmp_path / "s" / name).stat().st_size > 1000
    page = tmp_path / "docs" / "results.md"
    report = subprocess.run(RNNLAB + ["report", str(tmp_path / "s"), "--out", str(page)],
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    text = page.read_text()
    assert "rnnlab sweep --grid echo_step=1,2 truncation=2,3,5 --seeds 2 --seed" not in text
    assert "rnnlab sweep --grid echo_step=1,2 truncation=2,3,5 --seeds 2 --epochs 2" in text
    assert "| truncation | echo_step learnt |" in text
    assert (tmp_path / "docs" / "results-s-accuracy.png").exists()
    again = sweep(tmp_path / "s")
    assert again.returncode == 0 and trained(again.stdout) == 0
    assert results(tmp_path / "s") == rows
    other = subprocess.run(RNNLAB + ["sweep", "--grid", "echo_step=1:3", "--out", str(tmp_path / "s")],
                           capture_output=True, text=True)
    assert other.returncode == 2 and "holds another sweep" in other.stderr


def two_workers(out, *extra):
    workers = [sweep(out, *extra, wait=False) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for w, (stdout, stderr) in zip(workers, outputs):
        assert w.returncode == 0, stderr
    return [trained(stdout) for stdout, _ in outputs]


def test_two_workers_share_one_sqlite_sweep(tmp_path):
    counts = two_workers(tmp_path / "shared")
    assert sum(counts) == 3                      # every population trained exactly once
    alone = sweep(tmp_path / "alone")
    assert alone.returncode == 0
    shared, single = results(tmp_path / "shared"), results(tmp_path / "alone")
    assert [r["seed"] for r in shared] == [r["seed"] for r in single]
    np.testing.assert_allclose([float(r["loss"]) for r in shared],
                               [float(r["loss"]) for r in single], rtol=1e-6)


def test_a_killed_workers_points_are_taken_again(tmp_path):
    import optuna
    from optuna.trial import TrialState

    out = tmp_path / "killed"
    storage = f"sqlite:///{out}/sweep.db"
    victim = sweep(out, "--heartbeat", "1", wait=False)
    deadline = time.time() + 120
    running = []
    while not running and time.time() < deadline:
        time.sleep(0.2)
        try:
            study = optuna.load_study(study_name="rnnlab-sweep", storage=storage)
            running = study.get_trials(states=(TrialState.RUNNING,))
        except Exception:  # the database or study is not there yet
            pass
    assert running, "the first worker never started a population"
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    finished_before = len(study.get_trials(states=(TrialState.COMPLETE,)))
    rescuer = sweep(out, "--heartbeat", "1")
    assert rescuer.returncode == 0, rescuer.stderr
    study = optuna.load_study(study_name="rnnlab-sweep", storage=storage)
    states = [t.state for t in study.get_trials()]
    assert states.count(TrialState.FAIL) >= 1 and states.count(TrialState.COMPLETE) == 3
    assert trained(rescuer.stdout) == 3 - finished_before
    assert len(results(out)) == 12


@pytest.fixture(scope="module")
def postgres_url():
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    server = Server(bindir)
    url = server.start()
    yield url
    server.stop()


def test_two_workers_share_one_postgresql_sweep(tmp_path, postgres_url):
    counts = two_workers(tmp_path / "pg", "--storage", postgres_url, "--study", "pg-test")
    assert sum(counts) == 3
    assert len(results(tmp_path / "pg")) == 12
    assert not (tmp_path / "pg" / "sweep.db").exists()   # the study lives in PostgreSQL


@pytest.mark.fast
def test_report_of_a_one_axis_sweep_lands_beside_it(tmp_path):
    folder = tmp_path / "lags"
    folder.mkdir()
    (folder / "sweep.json").write_text('{"base": {"epochs": 2}, "axes": [["echo_step", [1, 2, 3]]],'
                                       ' "seeds": [0, 1]}')
    rows = ["echo_step,seed,loss,accuracy,epochs_to_solve"]
    for lag, accuracy in ((1, 1.0), (2, 0.995), (3, 0.6)):
        rows += [f"{lag},{seed},0.1,{accuracy},1" for seed in (0, 1)]
    (folder / "results.csv").write_text("\n".join(rows) + "\n")  # its heatmaps deleted
    done = subprocess.run(RNNLAB + ["report", str(folder)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = (folder / "report.md").read_text()
    assert page.startswith("# Sweeps: echo_step (task echo)\n")
    assert "6 networks: 3 grid points x 2 seeds, 2 epochs each." in page
    assert ("Values of echo_step learnt by every seed (final accuracy >= 0.99), and in brackets "
            "those learnt by some of the 2 seeds only: 1-2." in page)
    assert "per :" not in page and "|  |" not in page
    for picture in ("accuracy", "epochs_to_solve"):  # drawn afresh from results.csv
        assert (folder / f"report-lags-{picture}.png").read_bytes()[:4] == b"\x89PNG"


DAMAGE = [  # what was done to a finished sweep's files, and what the one line names
    ("sweep.json", lambda text: text[:len(text) // 2], "sweep.json cannot be read ("),
    ("results.csv", lambda text: "\x00garbage;;;\n" * 3, "results.csv cannot be read (it has no"),
    ("results.csv", lambda text: text.replace("accuracy,", "acc,", 1),
     "results.csv cannot be read (it has no accuracy column)"),
    ("results.csv", lambda text: text.replace("\n1,", "\n9,", 1),
     "results.csv cannot be read (line 2: echo_step '9' is not one of the sweep's)"),
    ("results.csv", lambda text: "", "results.csv cannot be read (it has no echo_step column)"),
]


@pytest.mark.parametrize("name, damage, message", DAMAGE,
                         ids=["json cut short", "garbage", "no column", "a hand-edited value", "empty"])
def test_report_of_a_damaged_sweep_is_one_line(name, damage, message, tmp_path):
    folder = tmp_path / "sweep"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "data", "before-reshape", "sweep"),
                    folder)
    path = folder / name
    path.write_text(damage(path.read_text()))
    done = subprocess.run(RNNLAB + ["report", str(folder)], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert message in line and str(path) in line
    assert not (folder / "report.md").exists()


CLAIMER = """
import sys, time
from rnnlab.study import claim_unit, claims_in_turn, open_study
from rnnlab.sweep import make_plan

url, start = sys.argv[1], float(sys.argv[2])
plan = make_plan({"series_length": 100, "batch_size": 4}, ["echo_step=1:3"], 1)
study, storage = open_study(url, "race", plan, 10)
while time.time() < start:
    time.sleep(0.001)
mine = []
while True:
    with claims_in_turn(url):
        claimed = claim_unit(study, storage, 12)
    if claimed is None:
        break
    mine.append(claimed[1])
print(" ".join(map(str, mine)))
"""


def test_workers_claiming_at_the_same_moment_on_sqlite_each_unit_goes_to_one(tmp_path):
    # SQLite has no row locks: without claims taking turns, workers started together
    # crashed here (a trial finished under them) and left units unclaimed.
    from rnnlab.study import open_study

    url = f"sqlite:///{tmp_path}/race.db"
    open_study(url, "race", make_plan({"series_length": 100, "batch_size": 4},
                                      ["echo_step=1:3"], 1), 10)
    start = time.time() + 4  # all four past their imports, then off together
    workers = [subprocess.Popen([sys.executable, "-c", CLAIMER, url, str(start)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    claimed = sorted(int(u) for out, _ in outputs for u in out.split())
    assert claimed == list(range(12))
