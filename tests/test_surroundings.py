"""What a command meets around it: where its output goes (closed, full, a pipe whose
reader leaves, an ASCII terminal), what its environment says (a bad MPLBACKEND, an
unknown XLA flag, no home, a display that does not open, a cache on a full disk), what
stands where it writes (a device, a folder, a name of odd bytes), and signals at every
moment. Each ends in one line and an exit code from the README's table, never a
traceback, and leaves nothing half-written."""
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from helpers import quiet_train

CLI = [sys.executable, "-m", "rnnlab"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
ALICE = os.path.join(os.path.dirname(__file__), "data", "alice.txt")
SMALL = ["--epochs", "2", "--series-length", "5000", "--seed", "1", "--plot", "none"]


def rnnlab(*args, env=None, shell_redirect="", **options):
    """The command as a user types it; `shell_redirect` (e.g. '>&-') through a shell."""
    env = {**ENV, **(env or {})}
    if shell_redirect:
        line = " ".join(f"'{a}'" for a in CLI + [str(a) for a in args]) + " " + shell_redirect
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=env,
                              timeout=300, **options)
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=300, **options)


def one_line(done, code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def echo_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("echo") / "run"
    quiet_train(folder, epochs=2, series_length=5000, seed=1)
    return folder


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A text run whose file holds accents, for outputs that cannot show them."""
    home = tmp_path_factory.mktemp("text")
    (home / "café.txt").write_text(open(ALICE).read().replace("e", "é"), encoding="utf-8")
    quiet_train(home / "run", task="text", data=str(home / "café.txt"), truncation=10,
                batch_size=4, state_size=8, epochs=1, seed=0, val_fraction=0.1,
                test_fraction=0.1)
    return home / "run"


# --- where the output goes ---------------------------------------------------------


def test_a_closed_stdout_still_trains_and_help_says_nothing(tmp_path):
    done = rnnlab("train", *SMALL, "--out", tmp_path / "run", shell_redirect=">&-")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 1 + 2 * 66
    done = rnnlab("train", "--help", shell_redirect=">&-")
    assert done.returncode == 0 and done.stderr == ""


def test_a_closed_stderr_still_trains(tmp_path):
    done = rnnlab("train", *SMALL, "--out", tmp_path / "run", shell_redirect="2>&-")
    assert done.returncode == 0 and "Run written to" in done.stdout


def test_a_full_stdout_stops_training_with_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    line = one_line(rnnlab("train", *SMALL, "--out", run, shell_redirect="> /dev/full"), 4)
    assert line.startswith("rnnlab: error: cannot write standard output: No space left on "
                           "device; training stopped, the last good checkpoint (")
    assert rnnlab("train", "--resume", run, "--quiet").returncode == 0


def test_a_pipe_into_head_stops_training_with_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run(["bash", "-c", " ".join(CLI + ["train", *SMALL, "--out", str(run)])
                           + " | head -1; exit ${PIPESTATUS[0]}"],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert done.stdout == "New data, epoch 0\n"
    assert done.returncode == 128 + signal.SIGPIPE, done.stderr
    assert done.stderr.startswith("rnnlab: interrupted at epoch 0, window ")
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert rnnlab("train", "--resume", run, "--quiet").returncode == 0


def test_predict_and_sample_into_head_stop_quietly(echo_run, text_run):
    bits = "01" * 30000
    for command in ([*CLI, "predict", str(echo_run), "--bits", bits],
                    [*CLI, "sample", str(text_run), "--length", "100000"]):
        done = subprocess.run(["bash", "-c", " ".join(command) + " | head -c 10 > /dev/null;"
                               " exit ${PIPESTATUS[0]}"], capture_output=True, text=True,
                              env=ENV, timeout=300)
        assert done.returncode == 128 + signal.SIGPIPE and done.stderr == "", done.stderr


def test_an_ascii_terminal_gets_escapes_not_a_traceback(text_run):
    done = rnnlab("sample", text_run, "--length", "200", "--seed", "1",
                  env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "\\xe9" in done.stdout  # é, as an escape


# --- what the environment says -------------------------------------------------------


def test_a_bad_mplbackend_is_one_line_and_the_figure_is_still_drawn(tmp_path):
    run = tmp_path / "run"
    done = rnnlab("train", *SMALL[:-2], "--plot", "file", "--out", run,
                  env={"MPLBACKEND": "nosuchbackend"})
    assert one_line(done, 0) == ("rnnlab: MPLBACKEND='nosuchbackend' names no matplotlib "
                                 "backend; drawing without it")
    assert (run / "figure.png").exists()


def test_an_unknown_xla_flag_is_said_by_xla_in_one_line(tmp_path):
    done = rnnlab("train", *SMALL, "--out", tmp_path / "run",
                  env={"XLA_FLAGS": "--no_such_xla_flag=1"})
    assert done.returncode != 0
    assert "no_such_xla_flag" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("home", ["/proc/no-such-home", "/dev/null"],
                         ids=["cannot be made", "a file"])
def test_no_home_to_write_in_gives_no_matplotlib_lines(home, tmp_path):
    """A HOME that cannot hold folders, for root too: matplotlib's folders and rnnlab's
    cache of compiled programs are not made there, and nothing says so but the run."""
    done = rnnlab("train", *SMALL[:-2], "--plot", "file", "--out", tmp_path / "run",
                  env={"HOME": home, "XDG_CACHE_HOME": "", "XDG_CONFIG_HOME": "",
                       "MPLCONFIGDIR": "", "RNNLAB_XLA_CACHE": ""})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "run" / "figure.png").exists()


def test_a_display_that_does_not_open_is_one_line(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "MPLBACKEND"}
    done = subprocess.run(CLI + ["train", *SMALL[:-2], "--plot", "live", "--out",
                                 str(tmp_path / "run")], capture_output=True, text=True,
                          env={**env, "DISPLAY": ":97"}, timeout=300)
    line = one_line(done, 0)
    assert line.startswith("rnnlab: ") and "figure.png instead" in line
    assert (tmp_path / "run" / "figure.png").exists()


def test_characters_the_font_lacks_give_no_warnings(tmp_path):
    data = tmp_path / "han.txt"
    data.write_text("中文字符和表情😀 " * 300, encoding="utf-8")
    done = rnnlab("train", "--task", "text", "--data", data, "--truncation", "10",
                  "--batch-size", "4", "--state-size", "8", "--epochs", "1", "--plot", "file",
                  "--out", tmp_path / "run", env={"LANG": "C", "LC_ALL": "C"})
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_a_compile_cache_on_a_full_disk_is_not_used(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                                            str(disk)]).returncode != 0:
        pytest.skip("needs root, to mount a small file system")
    try:
        done = rnnlab("train", *SMALL, "--out", tmp_path / "run",
                      env={"RNNLAB_XLA_CACHE": str(disk / "cache")})
        assert done.returncode == 0 and done.stderr == "", done.stderr
    finally:
        subprocess.run(["umount", str(disk)])


# --- what stands where it writes -----------------------------------------------------


def devices(folder, *names) -> str:
    """Character devices of the test's own, as /dev/null is (FIFOs where no device may
    be made); returns what they are."""
    for name in names:
        try:
            os.mknod(folder / name, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            os.mkfifo(folder / name)
    made = os.stat(folder / names[0]).st_mode
    return "a character device" if stat.S_ISCHR(made) else "a named pipe"


def test_a_device_is_never_replaced(tmp_path):
    kind = devices(tmp_path, "null", "null.gif")
    sweep = tmp_path / "sweep"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "data", "before-reshape", "sweep"),
                    sweep)
    for command, device in ((["report", sweep, "--out", tmp_path / "null"], "null"),
                            (["train", *SMALL, "--out", tmp_path / "run", "--gif",
                              tmp_path / "null.gif"], "null.gif")):
        line = one_line(rnnlab(*command), 2)
        assert f"{tmp_path / device}' is {kind}, not a file" in line
    for device in ("null", "null.gif"):
        assert not stat.S_ISREG(os.stat(tmp_path / device).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["null", "null.gif", "sweep"]  # nothing beside


def test_a_folder_is_never_written_as_a_file(tmp_path):
    (tmp_path / "movie.gif").mkdir()
    line = one_line(rnnlab("train", *SMALL, "--out", tmp_path / "run", "--gif",
                           tmp_path / "movie.gif"), 2)
    assert "movie.gif' is a folder, not a file" in line


def test_a_run_folder_named_with_odd_bytes_is_refused_in_one_line(tmp_path):
    odd = os.path.join(os.fsencode(tmp_path), b"run-\xff\xfe")
    done = subprocess.run(CLI + ["train", *SMALL, "--out", odd], capture_output=True,
                          env=ENV, timeout=300)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.decode().strip().splitlines()
    assert "holds bytes that are not UTF-8" in line and "run-\\xff\\xfe" in line
    assert not os.path.exists(odd)
    sweep = os.path.join(os.path.dirname(__file__), "data", "before-reshape", "sweep")
    page = os.path.join(os.fsencode(tmp_path), b"page-\xfd.md")
    done = subprocess.run(CLI + ["report", sweep, "--out", page], capture_output=True,
                          env=ENV, timeout=300)
    assert done.returncode == 2 and b"holds bytes that are not UTF-8" in done.stderr
    assert os.listdir(tmp_path) == []  # nor its heatmaps


def test_a_killed_export_leaves_nothing_and_the_next_one_works(echo_run, tmp_path):
    target = tmp_path / "model"
    proc = subprocess.Popen(CLI + ["export", str(echo_run), str(target)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.5)  # TensorFlow loaded, the SavedModel being written or about to be
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 128 + signal.SIGTERM) and "Traceback" not in err, err
    if proc.returncode != 0:
        assert not target.exists()
    assert [p for p in os.listdir(tmp_path) if p != "model"] == []
    shutil.rmtree(target, ignore_errors=True)
    done = rnnlab("export", echo_run, target)
    assert done.returncode == 0, done.stderr
    assert (target / "saved_model.pb").exists()


# --- signals at every moment ---------------------------------------------------------

READERS = {"eval": ["eval", "{run}", "--series-length", "500000"],
           "predict": ["predict", "{run}", "--bits", "01" * 20000],
           "diagnose": ["diagnose", "{run}", "--series-length", "100000", "--max-lag", "100"]}


def in_rnnlab(proc, timeout=60):
    """Waits until the process runs rnnlab's first lines: it catches SIGTERM then (Python
    alone does not). A signal before that, while Python itself starts, is Python's to
    answer. Where there is no /proc to read, it returns at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                caught = next(int(line.split()[1], 16) for line in status
                              if line.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return
        if caught >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.001)
    raise AssertionError("rnnlab never caught SIGTERM")


@pytest.mark.parametrize("after, command", [(0.0, "eval"), (0.05, "eval"), (0.6, "predict"),
                                            (2.5, "eval"), (4.0, "diagnose")])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_at_any_moment_is_one_line(after, command, signum, echo_run, tmp_path):
    """One line and 130/143 from rnnlab's first line on (`after` seconds after it), or,
    the command done already, 0."""
    run = tmp_path / "run"
    shutil.copytree(echo_run, run)
    proc = subprocess.Popen(CLI + [a.format(run=run) for a in READERS[command]], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    in_rnnlab(proc)
    time.sleep(after)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    name = "interrupted" if signum == signal.SIGINT else "terminated"
    assert (proc.returncode, err) in ((128 + signum, f"rnnlab: {name}\n"), (0, "")), \
        (proc.returncode, err)
    assert not [p for p in os.listdir(run) if "tmp" in p]
