"""`rnnlab train` with a real live window (Tk on a virtual X display): after training it
says how to finish, and Ctrl-C closes the window cleanly. Skipped without Xvfb or Tk
(Debian: apt-get install xvfb)."""
import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from rnnlab.run.live import KEEP_OPEN_NOTE

pytest.importorskip("tkinter")
pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")


@pytest.fixture
def x_display():
    """A fresh Xvfb server; its display number is the one it reports (-displayfd)."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"],
                              pass_fds=[write], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as reported:
        number = reported.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait()


def test_train_with_a_window_says_how_to_finish_and_ctrl_c_ends_it(tmp_path, x_display):
    env = {**os.environ, "DISPLAY": x_display, "MPLBACKEND": "TkAgg"}
    train = subprocess.Popen(
        [sys.executable, "-m", "rnnlab.cli", "train", "--epochs", "1", "--series-length",
         "5000", "--seed", "1", "--out", str(tmp_path / "run")],  # --plot auto: a display
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(120, train.kill)  # a hang fails the test instead of stalling it
    watchdog.start()
    try:
        first = train.stderr.readline()  # blocks until training is done and the window waits
        assert first == KEEP_OPEN_NOTE + "\n"
        assert train.poll() is None  # still showing the figure
        train.send_signal(signal.SIGINT)
        out, rest = train.communicate()
    finally:
        watchdog.cancel()
    assert train.returncode == 0, rest
    assert rest == ""  # no traceback, no second line
    assert out.splitlines()[-1] == f"Run written to {tmp_path / 'run'}"
