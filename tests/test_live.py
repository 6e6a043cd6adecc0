"""The figure while training: a window, or an image updated in place in a notebook."""
import io
import os
import signal
import sys
import types

import numpy as np
import pytest

from rnnlab.run import live as live_figures
from rnnlab.run.records import Snapshot


def fake_ipython(monkeypatch, shell):
    """An IPython whose get_ipython() returns `shell`, and an IPython.display that
    records what is shown: display(..., display_id=True) and handle.update(...)."""
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj))

    def display(obj, display_id=None):
        assert display_id is True  # an updatable display
        shown.append(("display", obj))
        return Handle()

    ipython = types.ModuleType("IPython")
    ipython.version_info = (9, 0)  # matplotlib's canvas asks, the first time one is made
    ipython.get_ipython = lambda: shell
    display_module = types.ModuleType("IPython.display")
    display_module.display = display
    display_module.Image = lambda data, format: (format, data)
    ipython.display = display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    return shown


class KernelShell:  # what a Jupyter kernel's ZMQInteractiveShell has and a terminal's lacks
    kernel = object()


def snapshot(T=15, batch=5, epoch=0, window=0):
    rng = np.random.RandomState(window)
    p0 = rng.rand(T, batch)
    return Snapshot(epoch, window, rng.randint(0, 2, (batch, T)), rng.randint(0, 2, (batch, T)),
                    np.stack([p0, 1 - p0], -1), 10)


@pytest.mark.fast
def test_a_kernel_is_told_from_a_terminal_without_importing_ipython(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert not live_figures.in_ipython_kernel() and "IPython" not in sys.modules
    assert live_figures.resolve_plot("auto") == "file"
    fake_ipython(monkeypatch, shell=None)                      # IPython imported, no shell
    assert not live_figures.in_ipython_kernel()
    fake_ipython(monkeypatch, shell=types.SimpleNamespace())   # a terminal IPython
    assert not live_figures.in_ipython_kernel() and live_figures.resolve_plot("auto") == "file"
    fake_ipython(monkeypatch, shell=KernelShell())
    assert live_figures.in_ipython_kernel()
    assert live_figures.resolve_plot("auto") == "live" and live_figures.resolve_plot("file") == "file"


@pytest.mark.fast
def test_in_a_kernel_the_live_figure_is_one_display_updated_at_its_pace(monkeypatch):
    shown = fake_ipython(monkeypatch, KernelShell())
    live = live_figures.open_live_figure(15, 5)
    assert isinstance(live, live_figures.NotebookFigure)
    live.pace.budget = 1e-9  # after the first two draws, the next waits max_wait seconds
    for window in range(4):
        live.refresh(np.linspace(1, 0.1, 10), snapshot(window=window))
    live.refresh(np.linspace(1, 0.1, 10), snapshot(epoch=1, window=7), force=True)
    live.keep_open()  # nothing to wait for: the cell keeps the last image
    assert [kind for kind, _ in shown] == ["display", "update", "update"]
    images = [image for _, image in shown]
    assert all(fmt == "png" and data.startswith(b"\x89PNG") for fmt, data in images)
    assert len({data for _, data in images}) == 3  # each shows its own window
    assert live.view.title.get_text() == "epoch 1, window 7"


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.fast
def test_progress_bar_in_a_kernel_is_tqdms_widget_or_none(monkeypatch, recwarn):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", Terminal())  # a bar would be drawn, were it a terminal
    fake_ipython(monkeypatch, KernelShell())
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed: no widget
    bar = live_figures.progress_bar("epoch 0", 100, 0)
    bar.update(50)
    bar.close()
    assert bar.disable and sys.stderr.getvalue() == ""  # a text bar would fill the cell
    assert not recwarn.list
    widget = types.ModuleType("tqdm.notebook")
    widget.tqdm = lambda **settings: settings  # stands in for tqdm's widget bar
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    monkeypatch.setitem(sys.modules, "tqdm.notebook", widget)
    settings = live_figures.progress_bar("epoch 3", 100, 20)
    assert (settings["desc"], settings["total"], settings["initial"], settings["disable"]) == \
        ("epoch 3", 100, 20, False)


def test_keep_open_says_how_to_finish_and_ctrl_c_closes_the_window(monkeypatch, capsys):
    import matplotlib.pyplot as plt

    live = live_figures.LiveFigure(15, 5)  # pyplot's Agg figure: its event loop is a sleep loop
    canvas = live.view.fig.canvas
    run_loop = canvas.start_event_loop
    loops = []

    def ctrl_c_then_loop(timeout):
        loops.append(timeout)
        if len(loops) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C
        run_loop(timeout)

    monkeypatch.setattr(canvas, "start_event_loop", ctrl_c_then_loop)
    before = signal.getsignal(signal.SIGINT)
    live.keep_open()  # returns: no KeyboardInterrupt
    assert loops == [0.1]
    assert not plt.fignum_exists(live.view.fig.number)
    assert signal.getsignal(signal.SIGINT) is before
    assert capsys.readouterr().err == live_figures.KEEP_OPEN_NOTE + "\n"


def test_keep_open_returns_when_the_window_is_closed(monkeypatch, capsys):
    import matplotlib.pyplot as plt

    live = live_figures.LiveFigure(15, 5)
    loops = []

    def close_on_third(timeout):
        loops.append(timeout)
        if len(loops) == 3:
            plt.close(live.view.fig)  # the user closes the window

    monkeypatch.setattr(live.view.fig.canvas, "start_event_loop", close_on_third)
    live.keep_open()
    assert len(loops) == 3
    assert capsys.readouterr().err.count("\n") == 1
