"""The sweep's pictures: accuracy and epochs to solve over the grid's first two axes.

A third axis, if any, gives one panel per value; seeds and any further axes are
averaged (accuracy) or summarised by their median (epochs to solve).
"""
from __future__ import annotations

import os

import numpy as np

from rnnlab.run.runfiles import savefig_atomic


def padded_axes(plan) -> list:
    """The plan's first three axes [(name, values)], a missing one as ("", ("",))."""
    return (list(plan.axes) + [("", ("",))] * 3)[:3]


def mean_or_nan(values: list) -> float:
    return float(np.mean(values)) if values else np.nan


def grid_values(plan, rows: list, key: str, reduce):
    """[(third-axis value, [len(axis0), len(axis1)] array of reduce(values of `key`)
    per cell)], one per panel; rows hold typed values, as results.csv's were written."""
    (n0, v0), (n1, v1), (n2, v2) = padded_axes(plan)
    cells = {}
    for r in rows:
        cell = (r.get(n2, ""), r[n0], r.get(n1, ""))
        cells.setdefault(cell, []).append(r[key])
    return [(value2, np.array([[reduce(cells.get((value2, a, b), [])) for b in v1] for a in v0]))
            for value2 in v2]


def _median_epochs(values: list) -> float:
    """Median epochs to solve over seeds, an unsolved seed counting as never (inf):
    NaN (shown as 'not solved') when half or more of the seeds never solved it."""
    epochs = np.array([np.inf if v in (None, "") else float(v) for v in values])
    if not len(epochs):
        return np.nan
    m = float(np.median(epochs))
    return m if np.isfinite(m) else np.nan


def save_heatmaps(plan, rows: list, out: str, solved: float) -> list:
    """accuracy.png and epochs_to_solve.png (epochs until accuracy reached `solved`) in
    `out`; returns their paths."""
    paths = []
    for key, name, reduce, cmap, label in (
            ("accuracy", "accuracy.png", mean_or_nan, "viridis",
             "final accuracy (mean over seeds)"),
            ("epochs_to_solve", "epochs_to_solve.png", _median_epochs, "magma_r",
             f"epochs to accuracy {solved} (median over seeds; blank: not solved)")):
        path = os.path.join(out, name)
        accuracy = key == "accuracy"
        _draw(plan, grid_values(plan, rows, key, reduce), path, cmap, label,
              vmin=0.5 if accuracy else 1,
              vmax=1.0 if accuracy else plan.base.get("epochs", 100),
              fmt="{:.2f}" if accuracy else "{:.0f}")
        paths.append(path)
    return paths


def _draw(plan, panels, path, cmap, label, vmin, vmax, fmt) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    (n0, v0), (n1, v1), (n2, _) = padded_axes(plan)
    fig = Figure(figsize=(min(4.5 * len(panels), 16) + 1, max(3.5, 0.3 * len(v0) + 1.8)),
                 layout="constrained")
    FigureCanvasAgg(fig)
    image = None
    for k, (value2, grid) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        masked = np.ma.masked_invalid(grid)
        image = ax.imshow(masked, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                          aspect="auto")
        ax.set_facecolor("lightgray")
        ax.set_xticks(range(len(v1)), [str(v) for v in v1], fontsize=7)
        ax.set_yticks(range(len(v0)), [str(v) for v in v0], fontsize=7)
        ax.set_xlabel(n1)
        ax.set_ylabel(n0)
        if n2:
            ax.set_title(f"{n2} = {value2}", fontsize=9)
        if grid.size <= 150:  # numbers in the cells while they stay legible
            for (i, j), v in np.ndenumerate(grid):
                if np.isfinite(v):
                    ax.text(j, i, fmt.format(v), ha="center",
                            va="center", fontsize=6, color="white" if
                            (v - vmin) < 0.5 * (vmax - vmin) else "black")
    fig.colorbar(image, ax=fig.axes, label=label, shrink=0.9)
    savefig_atomic(fig, path, dpi=100)
