"""The tutorial's 2x3 figure. One drawing routine serves the live window, figure.png and the GIF.

Figures read what the run recorded (losses, snapshots of a window), never the model.
"""
from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

from rnnlab.records import Snapshot
from rnnlab.runfiles import savefig_atomic
from rnnlab.tasks import TASKS

PANEL_ROWS = 5  # panels 2..6 show the first five rows of the batch, as in the tutorial


def figure_settings(config) -> dict:
    """What the figure of a run's windows needs to know of its config."""
    return {"truncation": config.truncation, "rows": config.batch_size,
            "vocab": config.vocab, "panels": TASKS[config.task].panels}


class TutorialFigure:
    """Loss so far, then one panel per row of the window, as the task's `panels` say:
    - bits (the tutorial's echo task): input (blue), target (red) and predicted bit
      (green) bars;
    - probabilities (the dependency task): input bits (pale bars), the true P(y = 1)
      (black) and the model's (green);
    - characters (copy and text): input, target and guessed characters, each one's
      loss as bars;
    - sums (the adding task): the values (marked ones blue), the model's output (green)
      and, at the episode's end, the target sum (red).

    The artists are made once and updated in place, so a refresh costs one redraw.
    """

    def __init__(self, fig, truncation: int, rows: int, vocab: str | None = None,
                 panels: str = "bits"):
        self.fig, self.vocab, self.panels = fig, vocab, panels
        self.curves = []
        axes = [fig.add_subplot(2, 3, i + 1) for i in range(6)]
        self.loss_axes = axes[0]
        (self.loss_line,) = self.loss_axes.plot([], [])
        self.loss_axes.set_title("loss per window", fontsize=9)
        self.loss_axes.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        self.bars, self.texts, self.char_losses = [], [], []
        steps = range(truncation)
        for r in range(min(rows, PANEL_ROWS)):
            ax = axes[r + 1]
            ax.set_title(f"row {r}", fontsize=9)
            if panels == "characters":  # input, target, guess; below, each one's loss
                ax.axis("off")
                self.texts.append([ax.text(0, y, "", family="monospace", fontsize=8,
                                           transform=ax.transAxes, color=color)
                                   for y, color in ((0.9, "blue"), (0.75, "red"), (0.6, "green"))])
                losses = ax.inset_axes([0, 0, 1, 0.45])
                losses.set_xlim(-0.5, truncation - 0.5)
                losses.set_ylabel("loss", fontsize=7)
                losses.tick_params(labelsize=7)
                self.char_losses.append((losses, losses.bar(steps, np.zeros(truncation),
                                                            width=0.8, color="gray")))
                continue
            if panels in ("probabilities", "sums"):
                self.curves.append(self._curve_panel(ax, truncation, r == 0))
                continue
            ax.axis([0, truncation, 0, 2])
            zeros = np.zeros(truncation)
            self.bars.append((ax.bar(steps, zeros, width=1, color="blue"),
                              ax.bar(steps, zeros, width=1, color="red"),
                              ax.bar(steps, zeros, width=1, color="green")))
        for ax in axes[1 + min(rows, PANEL_ROWS):]:
            ax.axis("off")  # fewer rows than panels
        self.title = fig.suptitle("")
        self.sample = fig.text(0.02, 0.015, "", family="monospace", fontsize=8)

    def _curve_panel(self, ax, truncation: int, legend: bool):
        steps = np.arange(truncation)
        bars = ax.bar(steps, np.zeros(truncation), width=0.9, color="lightsteelblue")
        if self.panels == "probabilities":
            ax.axis([-0.5, truncation - 0.5, 0, 1.05])
            (truth,) = ax.step(steps, np.zeros(truncation), where="mid", color="black",
                               label="true P(y=1)")
            (model,) = ax.step(steps, np.zeros(truncation), where="mid", color="green",
                               label="model's P(y=1)")
            lines = (truth, model)
        else:
            ax.axis([-0.5, truncation - 0.5, 0, 2.05])
            (model,) = ax.plot(steps, np.zeros(truncation), color="green", lw=1,
                               label="output")
            (target,) = ax.plot([], [], "o", color="red", label="target sum")
            (answer,) = ax.plot([], [], "o", color="green", mfc="none")
            lines = (model, target, answer)
        if legend:
            ax.legend(fontsize=6, loc="upper right")
        return bars, lines

    def _update_curves(self, r: int, bars, lines, snap: Snapshot) -> None:
        steps = np.arange(len(bars))
        if self.panels == "probabilities":
            for rect, h in zip(bars, snap.x[r]):
                rect.set_height(h)
            truth, model = lines
            truth.set_ydata(snap.truth[r] if snap.truth is not None else np.full(len(steps), np.nan))
            model.set_ydata(snap.probs[:, r, 1])
            return
        values, marked = snap.x[r, :, 0], snap.x[r, :, 1] > 0
        for rect, h, m in zip(bars, values, marked):
            rect.set_height(h)
            rect.set_color("royalblue" if m else "lightsteelblue")
        model, target, answer = lines
        output = snap.probs[:, r, 0]
        model.set_ydata(output)
        ends = np.isfinite(snap.y[r])
        target.set_data(steps[ends], snap.y[r][ends])
        answer.set_data(steps[ends], output[ends])

    def update(self, losses: np.ndarray, snap: Snapshot) -> None:
        shown = np.isfinite(losses)  # the adding task's windows without a target have none
        self.loss_line.set_data(np.arange(len(losses))[shown], losses[shown])
        self.loss_axes.relim()
        self.loss_axes.autoscale_view()
        for r, (bars, lines) in enumerate(self.curves):
            self._update_curves(r, bars, lines, snap)
        if self.curves:
            self.title.set_text(f"epoch {snap.epoch}, window {snap.window}")
            return
        predicted = snap.probs.argmax(axis=-1)  # [T, batch]; bits: 1 when P(0) < 0.5
        for r, (x_bars, y_bars, p_bars) in enumerate(self.bars):
            for bars, heights in ((x_bars, snap.x[r]), (y_bars, snap.y[r] * 0.5),
                                  (p_bars, predicted[:, r] * 0.3)):
                for rect, h in zip(bars, heights):
                    rect.set_height(h)
        for r, lines in enumerate(self.texts):
            for line, label, ids in zip(lines, ("input  ", "target ", "guess  "),
                                        (snap.x[r], snap.y[r], predicted[:, r])):
                shown = "".join(self.vocab[i] for i in ids).replace("\n", "\u21b5")
                line.set_text(label + shown)
        for r, (axes, bars) in enumerate(self.char_losses):
            p_target = snap.probs[np.arange(len(snap.y[r])), r, snap.y[r]]
            losses = -np.log(np.maximum(p_target, 1e-12))
            for rect, h in zip(bars, losses):
                rect.set_height(h)
            axes.set_ylim(0, max(1.0, float(losses.max()) * 1.1))
        self.title.set_text(f"epoch {snap.epoch}, window {snap.window}")
        if snap.sample:
            self.sample.set_text(f"written after epoch {snap.epoch}: "
                                 + snap.sample.replace("\n", "\u21b5"))


def new_file_figure(truncation: int, rows: int, vocab: str | None = None,
                    panels: str = "bits") -> TutorialFigure:
    """A figure on the Agg canvas: no display, no pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6.5))
    FigureCanvasAgg(fig)
    return TutorialFigure(fig, truncation, rows, vocab, panels)


def save_png(path: str, losses: np.ndarray, snap: Snapshot, truncation: int, rows: int,
             vocab: str | None = None, panels: str = "bits"):
    """The figure as it stood at `snap`; returns the matplotlib Figure."""
    view = new_file_figure(truncation, rows, vocab, panels)
    view.update(losses[:snap.num_losses], snap)
    savefig_atomic(view.fig, path, dpi=100)
    return view.fig


def save_gif(path: str, losses: np.ndarray, snaps: list, truncation: int, rows: int,
             vocab: str | None = None, panels: str = "bits", max_frames: int = 120,
             fps: int = 8) -> None:
    """An animation of training: up to `max_frames` of the logged windows, evenly spaced."""
    from matplotlib.animation import PillowWriter

    if not snaps:
        return
    picks = np.unique(np.linspace(0, len(snaps) - 1, min(max_frames, len(snaps))).astype(int))
    view = new_file_figure(truncation, rows, vocab, panels)
    writer = PillowWriter(fps=fps)
    tmp = f"{os.path.splitext(path)[0]}.{os.getpid()}.tmp.gif"
    try:
        with writer.saving(view.fig, tmp, dpi=60):
            for i in picks:
                view.update(losses[:snaps[i].num_losses], snaps[i])
                writer.grab_frame()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
    import matplotlib

    if in_ipython_kernel():
        return NotebookFigure(truncation, rows, vocab, panels)
    try:
        live = LiveFigure(truncation, rows, vocab, panels)
    except Exception as err:  # a GUI toolkit that fails to start is reported, not fatal
        print(f"rnnlab: no live figure ({err.__class__.__name__}: {err}); writing figure.png instead",
              file=sys.stderr)
        return None
    if matplotlib.get_backend().lower() in ("agg", "pdf", "svg", "ps", "cairo", "template"):
        print("rnnlab: matplotlib has no interactive backend here; writing figure.png instead",
              file=sys.stderr)
        return None
    return live


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
