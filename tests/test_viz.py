import io
import os
import signal
import sys
import types

import numpy as np
from matplotlib.colors import to_rgba

from rnnlab import viz
from rnnlab.records import Snapshot
from rnnlab.viz import new_file_figure


def test_figure_has_the_tutorials_six_panels_and_bars():
    T, batch = 15, 5
    rng = np.random.RandomState(0)
    x, y = rng.randint(0, 2, (batch, T)), rng.randint(0, 2, (batch, T))
    p0 = rng.rand(T, batch)
    probs = np.stack([p0, 1 - p0], axis=-1)
    view = new_file_figure(T, batch)
    view.update(np.linspace(0.7, 0.1, 40), Snapshot(0, 0, x, y, probs, 40))
    axes = view.fig.axes
    assert len(axes) == 6
    assert len(axes[0].lines[0].get_xdata()) == 40
    for r, ax in enumerate(axes[1:]):
        assert (ax.get_xlim(), ax.get_ylim()) == ((0, T), (0, 2))
        heights = np.array([rect.get_height() for rect in ax.patches]).reshape(3, T)
        np.testing.assert_array_equal(heights[0], x[r])
        np.testing.assert_array_equal(heights[1], y[r] * 0.5)
        np.testing.assert_array_equal(heights[2], (p0[:, r] < 0.5) * 0.3)
        assert [c.get_facecolor() for c in ax.patches[::T]] == [to_rgba(c) for c in ("blue", "red", "green")]


def test_dependency_panels_show_true_and_model_probabilities():
    T, batch = 12, 3
    rng = np.random.RandomState(1)
    x, y = rng.randint(0, 2, (batch, T)), rng.randint(0, 2, (batch, T))
    p1 = rng.rand(T, batch)
    truth = rng.choice([0.25, 0.5, 0.75, 1.0], (batch, T))
    view = new_file_figure(T, batch, panels="probabilities")
    view.update(np.ones(5), Snapshot(0, 0, x, y, np.stack([1 - p1, p1], -1), 5, truth=truth))
    for r, ax in enumerate(view.fig.axes[1:4]):
        np.testing.assert_array_equal([b.get_height() for b in ax.patches], x[r])
        true_line, model_line = ax.lines
        np.testing.assert_array_equal(true_line.get_ydata(), truth[r])
        np.testing.assert_allclose(model_line.get_ydata(), p1[:, r])


# Where the figure goes: a notebook cell, a window, or a file.


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


def test_a_kernel_is_told_from_a_terminal_without_importing_ipython(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert not viz.in_ipython_kernel() and "IPython" not in sys.modules
    assert viz.resolve_plot("auto") == "file"
    fake_ipython(monkeypatch, shell=None)                      # IPython imported, no shell
    assert not viz.in_ipython_kernel()
    fake_ipython(monkeypatch, shell=types.SimpleNamespace())   # a terminal IPython
    assert not viz.in_ipython_kernel() and viz.resolve_plot("auto") == "file"
    fake_ipython(monkeypatch, shell=KernelShell())
    assert viz.in_ipython_kernel()
    assert viz.resolve_plot("auto") == "live" and viz.resolve_plot("file") == "file"


def test_in_a_kernel_the_live_figure_is_one_display_updated_at_its_pace(monkeypatch):
    shown = fake_ipython(monkeypatch, KernelShell())
    live = viz.open_live_figure(15, 5)
    assert isinstance(live, viz.NotebookFigure)
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


def test_progress_bar_in_a_kernel_is_tqdms_widget_or_none(monkeypatch, recwarn):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", Terminal())  # a bar would be drawn, were it a terminal
    fake_ipython(monkeypatch, KernelShell())
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed: no widget
    bar = viz.progress_bar("epoch 0", 100, 0)
    bar.update(50)
    bar.close()
    assert bar.disable and sys.stderr.getvalue() == ""  # a text bar would fill the cell
    assert not recwarn.list
    widget = types.ModuleType("tqdm.notebook")
    widget.tqdm = lambda **settings: settings  # stands in for tqdm's widget bar
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    monkeypatch.setitem(sys.modules, "tqdm.notebook", widget)
    settings = viz.progress_bar("epoch 3", 100, 20)
    assert (settings["desc"], settings["total"], settings["initial"], settings["disable"]) == \
        ("epoch 3", 100, 20, False)


def test_keep_open_says_how_to_finish_and_ctrl_c_closes_the_window(monkeypatch, capsys):
    import matplotlib.pyplot as plt

    live = viz.LiveFigure(15, 5)  # pyplot's Agg figure: its event loop is a sleep loop
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
    assert capsys.readouterr().err == viz.KEEP_OPEN_NOTE + "\n"


def test_keep_open_returns_when_the_window_is_closed(monkeypatch, capsys):
    import matplotlib.pyplot as plt

    live = viz.LiveFigure(15, 5)
    loops = []

    def close_on_third(timeout):
        loops.append(timeout)
        if len(loops) == 3:
            plt.close(live.view.fig)  # the user closes the window

    monkeypatch.setattr(live.view.fig.canvas, "start_event_loop", close_on_third)
    live.keep_open()
    assert len(loops) == 3
    assert capsys.readouterr().err.count("\n") == 1
