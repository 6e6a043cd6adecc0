"""The sweep's pictures: accuracy and epochs to solve over the grid's first two axes.

A third axis, if any, gives one panel per value; seeds and any further axes are
averaged (accuracy) or summarised by their median (epochs to solve).
"""
from __future__ import annotations

import os

import numpy as np


def grid_values(plan, rows: list, key: str, reduce):
    """[panels][len(axis0), len(axis1)] of reduce(values of `key`) per cell."""
    axes = list(plan.axes) + [("", ("",))] * (3 - min(3, len(plan.axes)))
    (n0, v0), (n1, v1), (n2, v2) = axes[:3]
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


def save_heatmaps(plan, rows: list, out: str) -> list:
    """accuracy.png and epochs_to_solve.png in `out`; returns their paths."""
    paths = []
    for key, name, reduce, cmap, label in (
            ("accuracy", "accuracy.png", lambda v: float(np.mean(v)) if v else np.nan,
             "viridis", "final accuracy (mean over seeds)"),
            ("epochs_to_solve", "epochs_to_solve.png", _median_epochs, "magma_r",
             f"epochs to accuracy 0.99 (median over seeds; blank: not solved)")):
        path = os.path.join(out, name)
        _draw(plan, grid_values(plan, rows, key, reduce), path, cmap, label,
              vmin=0.5 if key == "accuracy" else 1,
              vmax=1.0 if key == "accuracy" else plan.base.get("epochs", 100))
        paths.append(path)
    return paths


def _draw(plan, panels, path, cmap, label, vmin, vmax) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    axes = list(plan.axes)
    n0, v0 = axes[0]
    n1, v1 = axes[1] if len(axes) > 1 else ("", ("",))
    n2 = axes[2][0] if len(axes) > 2 else ""
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
                    ax.text(j, i, f"{v:.2f}" if vmax == 1.0 else f"{v:.0f}", ha="center",
                            va="center", fontsize=6, color="white" if
                            (v - vmin) < 0.5 * (vmax - vmin) else "black")
    fig.colorbar(image, ax=fig.axes, label=label, shrink=0.9)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
