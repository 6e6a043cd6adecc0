"""The figure while training: a window on a desktop, an image updated in place in a
Jupyter notebook, each drawn at a pace that costs the run little; and the progress bar
that fits each place."""
from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
import warnings

import numpy as np

from rnnlab.run.figure import TutorialFigure, missing_glyphs_unsaid, new_file_figure
from rnnlab.run.records import Snapshot


def display_available() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def in_ipython_kernel() -> bool:
    """Whether we run in a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab).

    IPython is only looked up, never imported: a plain `python` pays nothing. A terminal
    IPython's shell has no kernel, so it gets a window like a terminal.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return getattr(shell, "kernel", None) is not None


def resolve_plot(plot: str) -> str:
    """--plot auto: live in a notebook or where a window can open, else figure.png."""
    if plot != "auto":
        return plot
    return "live" if in_ipython_kernel() or display_available() else "file"


class RefreshPace:
    """Keeps drawing to about `budget` of a run's time.

    A redraw of six panels costs tens of milliseconds while a whole epoch trains in
    about twenty, so refreshes are skipped until training has run 1/`budget` times as
    long as the last redraw took (at most `max_wait` seconds). The first draw (opening
    the window, or the first image) does not count.
    """

    def __init__(self, budget: float = 0.05, max_wait: float = 2.0):
        self.budget, self.max_wait = budget, max_wait
        self.next_draw, self.drawn = 0.0, 0

    def due(self, now: float, force: bool = False) -> bool:
        return force or now >= self.next_draw

    def spent(self, started: float) -> None:
        """A draw that began at perf_counter() `started` has just ended."""
        cost = time.perf_counter() - started
        self.drawn += 1
        wait = min(cost / self.budget, self.max_wait) if self.drawn > 1 else 0.0
        self.next_draw = started + cost + wait


KEEP_OPEN_NOTE = "rnnlab: the figure stays open; close its window or press Ctrl-C to finish"


class LiveFigure:
    """The figure in a window, refreshed as training goes (at RefreshPace's pace)."""

    def __init__(self, truncation: int, rows: int, vocab: str | None = None,
                 panels: str = "bits", budget: float = 0.05, max_wait: float = 2.0):
        import matplotlib.pyplot as plt

        self.plt = plt
        plt.ion()
        self.view = TutorialFigure(plt.figure(figsize=(11, 6.5)), truncation, rows, vocab, panels)
        plt.show(block=False)
        self.pace = RefreshPace(budget, max_wait)

    def refresh(self, losses: np.ndarray, snap: Snapshot, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.pace.due(now, force):
            return
        with missing_glyphs_unsaid():
            self.view.update(losses, snap)
            self.view.fig.canvas.draw_idle()
            self.view.fig.canvas.flush_events()
        self.pace.spent(now)

    def keep_open(self) -> None:
        """As the tutorial ends: leave the final figure on screen until its window closes
        or Ctrl-C.

        Ctrl-C is only noted, and the GUI's event loop runs in slices of 0.1 s between
        looks at the note: matplotlib's Tk backend leaves Ctrl-C to Python, whose
        KeyboardInterrupt surfaces wherever Python code runs next, and inside a Tk
        callback tkinter prints it as a traceback and carries on.
        """
        asked = []
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: asked.append(True))
        try:
            print(KEEP_OPEN_NOTE, file=sys.stderr, flush=True)
            while not asked and self.plt.fignum_exists(self.view.fig.number):
                self.view.fig.canvas.start_event_loop(0.1)
            self.plt.close(self.view.fig)
        finally:
            if previous is not None:  # None: not the main thread, or a handler set outside Python
                signal.signal(signal.SIGINT, previous)


class NotebookFigure:
    """The figure in a notebook cell, updated in place as training goes.

    Each refresh renders the Agg figure to PNG and replaces the cell's image through one
    IPython display handle, so the cell holds one image, the last, however long the run
    (no GUI backend, no pyplot state). Refreshes keep RefreshPace's pace: a PNG draws the
    figure once, as a window's redraw does.
    """

    def __init__(self, truncation: int, rows: int, vocab: str | None = None,
                 panels: str = "bits", budget: float = 0.05, max_wait: float = 2.0,
                 dpi: int = 80):
        self.view = new_file_figure(truncation, rows, vocab, panels)
        self.pace = RefreshPace(budget, max_wait)
        self.dpi, self.handle = dpi, None  # 80 dpi: 880 x 520 pixels, about a cell's width

    def refresh(self, losses: np.ndarray, snap: Snapshot, force: bool = False) -> None:
        from IPython.display import Image, display

        now = time.perf_counter()
        if not self.pace.due(now, force):
            return
        self.view.update(losses, snap)
        with missing_glyphs_unsaid():
            image = Image(data=self.png(), format="png")
        if self.handle is None:  # the first image makes the cell's output; later ones replace it
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)
        self.pace.spent(now)

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.view.fig.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()

    def keep_open(self) -> None:
        """The final figure already stays in the cell."""


def open_live_figure(truncation: int, rows: int, vocab: str | None = None, panels: str = "bits"):
    """The live figure for where we run: a NotebookFigure in a Jupyter kernel, else a
    LiveFigure, or None when matplotlib has no interactive backend here."""
    if in_ipython_kernel():
        return NotebookFigure(truncation, rows, vocab, panels)
    try:
        import matplotlib.pyplot as plt  # finds the backend: on a display it cannot open,
                                         # matplotlib falls back to Agg
        if plt.get_backend().lower() in ("agg", "pdf", "svg", "ps", "cairo", "template"):
            print("rnnlab: matplotlib has no interactive backend here; writing figure.png "
                  "instead", file=sys.stderr)
            return None
        with warnings.catch_warnings():  # a toolkit's complaints: this line says it
            warnings.simplefilter("ignore")
            return LiveFigure(truncation, rows, vocab, panels)
    except Exception as err:  # a GUI toolkit that fails to start is reported, not fatal
        print(f"rnnlab: no live figure ({err.__class__.__name__}: {_first_line(err)}); "
              f"writing figure.png instead", file=sys.stderr)
        return None


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [""])[0][:160]


def progress_bar(desc: str, total: int, initial: int):
    """A tqdm bar of windows: on a terminal's stderr; in a notebook tqdm's widget where
    ipywidgets is installed, else none (a text bar's every redraw would pile up in the
    cell's output). None for pipes and CI either."""
    from tqdm import tqdm

    quiet = bool(os.environ.get("CI"))
    if in_ipython_kernel():
        widget = _notebook_tqdm()
        tqdm, quiet = widget or tqdm, quiet or widget is None
    else:
        quiet = quiet or not sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit="window", leave=False,
                disable=quiet, file=sys.stderr)


def _notebook_tqdm():
    """tqdm's notebook bar, or None without ipywidgets (not one of our dependencies)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return None
    from tqdm.notebook import tqdm

    return tqdm
