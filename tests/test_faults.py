"""Runs survive what users do to them: Ctrl-C or SIGTERM at any moment, a kill before the
first checkpoint, two commands on one folder, a full disk, a read-only folder. Real
signals, real processes, a real full file system where one can be mounted."""
import glob
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

CLI = [sys.executable, "-m", "rnnlab"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
SHORT = ["--epochs", "3", "--series-length", "20000", "--seed", "2", "--plot", "file",
         "--checkpoint-every", "0"]


def rnnlab(*args, **options):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=ENV,
                          timeout=300, **options)


def start(*args, **options):
    return subprocess.Popen(CLI + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV, **options)


def signal_after(proc, line_start: str | None, signum: int) -> tuple:
    """Send `signum` once the process prints a line starting with `line_start` (None:
    after a second, while it loads TensorFlow); return (exit code, stdout, stderr)."""
    seen = []
    if line_start is None:
        time.sleep(1.0)
    else:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(line_start):
                break
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, "".join(seen) + out, err


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run that interrupted ones must equal."""
    folder = tmp_path_factory.mktemp("straight") / "run"
    done = rnnlab("train", *SHORT, "--out", str(folder))
    assert done.returncode == 0, done.stderr
    return (folder / "metrics.csv").read_bytes()


@pytest.mark.parametrize("when", [None, "New data, epoch 0", "Step 0", "Epoch 1 done"],
                         ids=["starting", "first-epoch", "first-step", "between-epochs"])
def test_ctrl_c_at_any_moment_leaves_a_run_that_finishes_as_if_never_stopped(when, straight,
                                                                             tmp_path):
    run = tmp_path / "run"
    code, _, err = signal_after(start("train", *SHORT, "--out", str(run)), when, signal.SIGINT)
    assert code in (0, 130), err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    finished = (run / "metrics.csv").exists() and (run / "metrics.csv").read_bytes() == straight
    if not finished:  # the signal came before the last epoch's end: carry on
        if glob.glob(str(run / "checkpoints" / "ckpt-*.index")):
            done = rnnlab("train", "--resume", str(run))
        else:  # stopped before a checkpoint: the same command starts it over
            done = rnnlab("train", *SHORT, "--out", str(run))
        assert done.returncode == 0, done.stderr
    assert (run / "metrics.csv").read_bytes() == straight
    assert not glob.glob(str(run / "**" / "*tmp*"), recursive=True)


def test_sigterm_in_the_first_epoch_checkpoints_where_it_stood(tmp_path):
    # One long first epoch (~400 windows a chunk): where users press Ctrl-C on real text.
    settings = ["--epochs", "2", "--series-length", "3000000", "--seed", "1", "--plot", "none"]
    killed, straight_run = tmp_path / "killed", tmp_path / "straight"
    code, out, err = signal_after(start("train", *settings, "--out", str(killed)), "Step 0",
                                  signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    assert "interrupted at epoch 0, window" in err and "Epoch 0 done" not in out
    resumed = rnnlab("train", "--resume", str(killed))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Resuming epoch 0 at window ")
    assert rnnlab("train", *settings, "--out", str(straight_run)).returncode == 0
    assert (killed / "metrics.csv").read_bytes() == (straight_run / "metrics.csv").read_bytes()


def test_a_stop_waits_for_the_window_in_progress_not_the_chunk(tmp_path):
    """Windows of a large model take long: a chunk of them (here a whole epoch, with
    --log-every past its 300 windows) is cut by time, so SIGTERM is served mid-epoch."""
    settings = ["--epochs", "1", "--cell", "lstm", "--state-size", "256", "--batch-size", "16",
                "--truncation", "40", "--series-length", str(16 * 40 * 300), "--task", "copy",
                "--echo-step", "15", "--log-every", "1000", "--plot", "none", "--seed", "0"]
    code, _, err = signal_after(start("train", *settings, "--out", str(tmp_path / "run")),
                                "Step 0", signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    window = int(err.split("window ")[1].split(";")[0])
    assert 1 <= window < 300


def test_a_run_killed_before_its_first_checkpoint_starts_over(tmp_path):
    run = tmp_path / "run"
    settings = ["--epochs", "1", "--series-length", "3000000", "--seed", "1", "--plot", "none",
                "--out", str(run)]
    code, _, _ = signal_after(start("train", *settings), "Step 0", signal.SIGKILL)
    assert code == -signal.SIGKILL
    resumed = rnnlab("train", "--resume", str(run))
    assert resumed.returncode == 2
    assert "holds no checkpoint" in resumed.stderr and "start it over" in resumed.stderr
    again = rnnlab("train", *settings)
    assert again.returncode == 0, again.stderr
    assert again.stderr.strip() == f"rnnlab: {run} held a run stopped before its first " \
                                   f"checkpoint; starting it over"


def test_two_runs_started_together_on_one_folder_never_both_write_it(tmp_path):
    run = tmp_path / "run"
    procs = [start("train", *SHORT, "--out", str(run)) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "is in use by rnnlab train" in refused or "already holds files" in refused
    assert len(os.listdir(run / "tensorboard")) == 1


def test_while_a_run_trains_writers_are_refused_and_readers_served(tmp_path):
    run = tmp_path / "run"
    proc = start("train", "--epochs", "5000", "--series-length", "400000", "--seed", "1",
                 "--plot", "none", "--checkpoint-every", "0", "--out", str(run))
    for line in proc.stdout:
        if line.startswith("Epoch 1 done"):
            break
    try:
        for command in (["train", "--resume", str(run)], ["diagnose", str(run)],
                        ["train", "--out", str(run), "--force"]):
            done = rnnlab(*command)
            assert done.returncode == 2 and "is in use by rnnlab train --epochs 5000" in done.stderr
        for command in (["eval", str(run), "--series-length", "1000"],
                        ["predict", str(run), "--bits", "0110"],
                        ["export", str(run), str(tmp_path / "served")]):
            done = rnnlab(*command)
            assert done.returncode == 0 and done.stderr == "", done.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    done = rnnlab("diagnose", str(run), "--max-lag", "5", "--series-length", "2000")
    assert done.returncode == 0, done.stderr  # the folder is free again


def small_disk(path, kilobytes: int):
    """A file system of `kilobytes` at `path` if this process may mount one (root, and a
    kernel that lets it); else None, and the caller limits file sizes instead."""
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return None
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs",
                           str(path)], capture_output=True)
    return path if done.returncode == 0 else None


def test_a_full_disk_stops_training_with_one_line_and_keeps_what_was_saved(tmp_path):
    disk = small_disk(tmp_path / "disk", 400)
    limit = None
    if disk is None:  # no mount here: files may grow to 200 KB, as if the disk were full
        limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # noqa
    run = tmp_path / "disk" / "run"
    try:  # (--init glorot: the tutorial's with 120 units warns that it cannot learn)
        done = rnnlab("train", "--epochs", "6", "--series-length", "5000", "--state-size", "120",
                      "--init", "glorot",
                      "--plot", "none", "--checkpoint-every", "0", "--seed", "1",
                      "--out", str(run), preexec_fn=limit)
        assert done.returncode == 4, done.stderr
        line = done.stderr.strip()
        assert line.startswith(f"rnnlab: error: cannot write {run}/checkpoints: ")
        assert line.endswith(f"training stopped, the last good checkpoint (after epoch "
                             f"{line.split('after epoch ')[1].split(')')[0]}) is kept in {run}")
        assert not glob.glob(str(run / "checkpoints" / "*temp*"))
        assert rnnlab("eval", str(run), "--series-length", "1000").returncode == 0
    finally:
        if disk is not None:
            subprocess.run(["umount", str(disk)])


def test_a_disk_full_before_the_command_begins_is_one_line(tmp_path):
    """Nothing fits, not even the folder's lock: train and sweep say so (exit 4)."""
    disk = small_disk(tmp_path / "disk", 200)
    if disk is None:
        pytest.skip("mounting a small file system needs root and a kernel that lets it")
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={disk}/fill", "bs=1k", "count=400"],
                       capture_output=True)
        for command in (["train", "--epochs", "1", "--series-length", "5000", "--plot", "none"],
                        ["sweep", "--grid", "echo_step=1,2", "--epochs", "1",
                         "--series-length", "2000"]):
            done = rnnlab(*command, "--out", str(disk / command[0]))
            assert done.returncode == 4, done.stderr
            (line,) = done.stderr.strip().splitlines()
            assert line.startswith("rnnlab: error: cannot write ") and "--storage" not in line
            assert "No space left on device" in line or "disk is full" in line
    finally:
        subprocess.run(["umount", str(disk)])


@pytest.mark.parametrize("kind", ["fifo", "link", "not rnnlab's"])
def test_a_config_json_rnnlab_did_not_write_is_never_replaced(kind, tmp_path):
    """A folder holding only a config.json is a run stopped before its first checkpoint
    only when that file is a run's; a pipe, a link or the user's own file stays."""
    folder = tmp_path / "out"
    folder.mkdir()
    config = folder / "config.json"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "link":
        (tmp_path / "mine.json").write_text('{"task": "echo", "truncation": 15, "state_size": 4}')
        config.symlink_to(tmp_path / "mine.json")
    else:
        config.write_text('{"my": "notes"}')
    done = rnnlab("train", "--epochs", "1", "--series-length", "5000", "--plot", "none",
                  "--out", str(folder))
    assert done.returncode == 2 and "already holds files" in done.stderr, done.stderr
    assert os.listdir(folder) == ["config.json"] or sorted(os.listdir(folder)) == [
        ".lock", "config.json"]
    assert {"fifo": stat.S_ISFIFO, "link": stat.S_ISLNK, "not rnnlab's": stat.S_ISREG}[kind](
        os.lstat(config).st_mode)
    if kind == "not rnnlab's":
        assert config.read_text() == '{"my": "notes"}'


def read_only(folder) -> dict:
    """Make `folder` unwritable, for root too (a read-only bind mount); returns the
    subprocess options of a command that cannot write there (as nobody, for root where
    nothing may be mounted)."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        return {}
    if subprocess.run(["mount", "--bind", str(folder), str(folder)]).returncode == 0:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)]).returncode == 0:
            return {}
    os.chmod(folder, 0o555)
    for parent in folder.parents:  # pytest's folders are root's alone; nobody must reach it
        if str(parent) == "/":
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o005)
    return {"preexec_fn": lambda: os.setuid(65534)}


def test_a_read_only_run_folder_is_read_but_not_written(tmp_path):
    run = tmp_path / "run"
    assert rnnlab("train", *SHORT, "--out", str(run)).returncode == 0
    before = sorted(os.listdir(run))
    options = read_only(run)
    try:
        for command in (["train", "--resume", str(run), "--epochs", "4"], ["diagnose", str(run)]):
            done = rnnlab(*command, **options)
            assert done.returncode == 2, done.stderr
            (line,) = done.stderr.strip().splitlines()
            assert line.startswith(f"rnnlab: error: run folder {str(run)!r} cannot be written (")
        done = rnnlab("eval", str(run), "--series-length", "1000", **options)
        assert done.returncode == 0, done.stderr
    finally:
        subprocess.run(["umount", str(run)], capture_output=True)
        os.chmod(run, 0o755)
    assert sorted(os.listdir(run)) == before


@pytest.mark.parametrize("name, mode, when", [
    (".config.json.", "w", "at the start"), ("metrics.csv", "a", "at an epoch's end"),
    ("figure.", "w", "at the end")])
def test_every_file_a_run_writes_names_itself_when_the_disk_is_full(name, mode, when, tmp_path,
                                                                    monkeypatch, capsys):
    import builtins
    import errno

    from rnnlab.cli import main

    real_open = builtins.open

    def full_disk_open(file, mode_="r", *args, **kwargs):
        if name in os.path.basename(str(file)) and mode_.startswith(mode):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, mode_, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_disk_open)
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--series-length", "5000", "--plot", "file",
                 "--out", str(run)]) == 4, when
    (line,) = capsys.readouterr().err.strip().splitlines()
    target = name.strip(".") + (".png" if name == "figure." else "")
    assert line.startswith(f"rnnlab: error: cannot write {run}/{target}: No space left on device")
    assert not [f for f in os.listdir(run) if "tmp" in f]
