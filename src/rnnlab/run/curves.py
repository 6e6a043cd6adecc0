"""curves.png: a run's learning curves, per epoch: the training loss and accuracy (means
over its windows) and, for runs with a validation part, the validation's. Drawn from
what the run recorded (its History), as figure.png is."""
from __future__ import annotations

import numpy as np

from rnnlab.run.records import History
from rnnlab.run.writes import savefig_atomic


def draw_curves(history: History, title: str, units: str = ""):
    """The figure of `history`'s curves (matplotlib, Agg): loss left, accuracy right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(len(history.losses))
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    loss_axes, accuracy_axes = fig.subplots(1, 2)
    curves = [(loss_axes, history.epoch_loss, history.val_losses, f"loss{units}"),
              (accuracy_axes, history.epoch_accuracy, history.val_accuracies, "accuracy")]
    for axes, train, val, label in curves:
        axes.plot(epochs, train, marker=".", label="training (mean over the epoch's windows)")
        val = np.asarray(val, float)
        if len(val) == len(epochs) and np.isfinite(val).any():
            axes.plot(epochs, val, marker=".", label="validation (after the epoch)")
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    loss_axes.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def save_curves(path: str, history: History, title: str, units: str = "") -> None:
    savefig_atomic(draw_curves(history, title, units), path, dpi=100)
