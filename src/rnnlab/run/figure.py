"""The tutorial's 2x3 figure. One drawing routine serves the live figure (run/live.py),
figure.png and the GIF.

Figures read what the run recorded (losses, snapshots of a window), never the model.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np
from matplotlib.ticker import MaxNLocator

from rnnlab.run.records import PANEL_ROWS, Snapshot
from rnnlab.run.writes import replacing, savefig_atomic


@contextlib.contextmanager
def missing_glyphs_unsaid():
    """Draw without matplotlib's warning for each character its font lacks (a text in
    Chinese, emoji): the figure shows a box for each, and a run is not told eight times."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        yield


def figure_settings(settings) -> dict:
    """What the figure of a run's windows needs to know of its settings."""
    return {"truncation": settings.truncation, "rows": settings.batch_size,
            "vocab": settings.vocab, "panels": settings.task.panels}


class TutorialFigure:
    """Loss so far, then one panel per row of the window, as the task's `panels` say:
    - bits (the tutorial's echo task): input (blue), target (red) and predicted bit
      (green) bars;
    - probabilities (the dependency task): input bits (pale bars), the true P(y = 1)
      (black) and the model's (green);
    - characters (copy and text) and words: input, target and guessed symbols, each
      one's loss as bars;
    - sums (the adding task): the values (marked ones blue), the model's output (green)
      and, at the episode's end, the target sum (red).

    The artists are made once and updated in place, so a refresh costs one redraw. A
    legend under the title says what each colour is. A row of characters shows as many
    of the window's last steps as its panel holds legibly (all of the tutorial's 15).
    """

    FONT = 8  # points, of the characters' monospace lines

    def __init__(self, fig, truncation: int, rows: int, vocab: str | None = None,
                 panels: str = "bits"):
        self.fig, self.panels = fig, panels
        self.vocab = vocab.split("\n") if panels == "words" else vocab  # a symbol per class
        self.curves = []
        fig.subplots_adjust(top=0.84, bottom=0.1, hspace=0.45)
        axes = [fig.add_subplot(2, 3, i + 1) for i in range(6)]
        self.loss_axes = axes[0]
        (self.loss_line,) = self.loss_axes.plot([], [])
        self.loss_axes.set_title("loss per window", fontsize=9)
        self.loss_axes.set_xlabel("window", fontsize=8)
        self.loss_axes.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        self.bars, self.texts, self.char_losses = [], [], []
        # Characters that fit a panel's width in the monospace font (0.6 em each), less
        # the line's label: the last `shown` steps of the window are drawn.
        width = axes[1].get_position().width * fig.get_figwidth() * 72
        self.shown = min(truncation, int(width / (0.6 * self.FONT)) - len("target "))
        first, steps = truncation - self.shown, range(truncation)
        for r in range(min(rows, PANEL_ROWS)):
            ax = axes[r + 1]
            part = f" (its last {self.shown} of {truncation} steps)" if first else ""
            ax.set_title(f"row {r}{part}", fontsize=9)
            if panels in ("characters", "words"):  # input, target, guess; each one's loss
                ax.axis("off")
                self.texts.append([ax.text(0, y, "", family="monospace", fontsize=self.FONT,
                                           transform=ax.transAxes, color=color)
                                   for y, color in ((0.9, "blue"), (0.75, "red"), (0.6, "green"))])
                losses = ax.inset_axes([0, 0, 1, 0.45])
                losses.set_xlim(first - 0.5, truncation - 0.5)
                losses.set_ylabel("loss", fontsize=7)
                losses.tick_params(labelsize=7)
                self.char_losses.append((losses, losses.bar(steps, np.zeros(truncation),
                                                            width=0.8, color="gray")))
                continue
            ax.set_xlabel("step of the window", fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if panels in ("probabilities", "sums"):
                self.curves.append(self._curve_panel(ax, truncation))
                continue
            ax.axis([0, truncation, 0, 2])
            zeros = np.zeros(truncation)
            self.bars.append((ax.bar(steps, zeros, width=1, color="blue"),
                              ax.bar(steps, zeros, width=1, color="red"),
                              ax.bar(steps, zeros, width=1, color="green")))
        for ax in axes[1 + min(rows, PANEL_ROWS):]:
            ax.axis("off")  # fewer rows than panels
        self.title = fig.suptitle("", y=0.985)
        self._legend()
        self.sample = fig.text(0.02, 0.015, "", family="monospace", fontsize=8)

    LEGENDS = {  # (kind, colour, label) of what each kind of panel draws
        "bits": [("bar", "blue", "input bit 1 (full height)"),
                 ("bar", "red", "target bit 1 (half)"),
                 ("bar", "green", "predicted bit 1 (a third)")],
        "probabilities": [("bar", "lightsteelblue", "input bit 1"),
                          ("line", "black", "true P(y = 1)"),
                          ("line", "green", "the model's P(y = 1)")],
        "sums": [("bar", "lightsteelblue", "value"), ("bar", "royalblue", "marked value"),
                 ("line", "green", "the model's output"),
                 ("dot", "red", "target: the marked values' sum, at an episode's end")],
        "characters": [("text", "blue", "input"), ("text", "red", "target"),
                       ("text", "green", "the model's guess"),
                       ("bar", "gray", "loss of the target (nats)")],
    }

    def _legend(self) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        entries = self.LEGENDS.get(self.panels, self.LEGENDS["characters"])
        handles = [Patch(color=c) if kind == "bar" else
                   Line2D([], [], color=c, marker="o", ls="") if kind == "dot" else
                   Line2D([], [], color=c, lw=2 if kind == "line" else 6) for kind, c, _ in entries]
        self.fig.legend(handles, [label for *_, label in entries], loc="upper center",
                        bbox_to_anchor=(0.5, 0.955), ncol=len(entries), fontsize=8,
                        frameon=False)

    def _curve_panel(self, ax, truncation: int):
        steps = np.arange(truncation)
        bars = ax.bar(steps, np.zeros(truncation), width=0.9, color="lightsteelblue")
        if self.panels == "probabilities":
            ax.axis([-0.5, truncation - 0.5, 0, 1.05])
            (truth,) = ax.step(steps, np.zeros(truncation), where="mid", color="black")
            (model,) = ax.step(steps, np.zeros(truncation), where="mid", color="green")
            lines = (truth, model)
        else:
            ax.axis([-0.5, truncation - 0.5, 0, 2.05])
            (model,) = ax.plot(steps, np.zeros(truncation), color="green", lw=1)
            (target,) = ax.plot([], [], "o", color="red")
            (answer,) = ax.plot([], [], "o", color="green", mfc="none")
            lines = (model, target, answer)
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

    def _symbols(self, ids) -> str:
        """The window's last symbols, as many as the panel shows: characters (a newline
        as an arrow), or the words that fit, the last ones."""
        if self.panels != "words":
            return "".join(self.vocab[i] for i in ids[-self.shown:]).replace("\n", "\u21b5")
        words = [self.vocab[i] for i in ids]
        while len(words) > 1 and len(" ".join(words)) > self.shown:
            words = words[1:]
        return " ".join(words)[-self.shown:]

    def update(self, losses: np.ndarray, snap: Snapshot) -> None:
        shown = np.isfinite(losses)  # the adding task's windows without a target have none
        self.loss_line.set_data(np.arange(len(losses))[shown], losses[shown])
        self.loss_line.set_marker("." if shown.sum() < 30 else "")  # a few points: each seen
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
                line.set_text(label + self._symbols(ids))
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
    with missing_glyphs_unsaid():
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
    with replacing(path, ".gif") as tmp, missing_glyphs_unsaid(), \
            writer.saving(view.fig, tmp, dpi=60):
        for i in picks:
            view.update(losses[:snaps[i].num_losses], snaps[i])
            writer.grab_frame()
