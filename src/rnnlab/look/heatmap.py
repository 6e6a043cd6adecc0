"""The sweep's pictures: accuracy and epochs to solve over the grid's first two axes.

A third axis, if any, gives one panel per value; seeds and any further axes are
averaged (accuracy) or summarised by their median (epochs to solve).
"""
from __future__ import annotations

import os
import textwrap

import numpy as np

from rnnlab.run.writes import savefig_atomic


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


def save_heatmaps(plan, rows: list, out: str, solved: float, prefix: str = "") -> list:
    """accuracy.png and epochs_to_solve.png (epochs until accuracy reached `solved`) in
    `out`, their names after `prefix`; returns their paths."""
    paths = []
    for key, name, reduce, cmap, label, title in (
            ("accuracy", "accuracy.png", mean_or_nan, "viridis", "accuracy",
             "final accuracy, mean over seeds"),
            ("epochs_to_solve", "epochs_to_solve.png", _median_epochs, "magma_r",
             f"epochs to {solved}", f"epochs until accuracy {solved}, median over seeds "
             f"(grey: half the seeds or more never got there)")):
        path = os.path.join(out, prefix + name)
        accuracy = key == "accuracy"
        _draw(plan, grid_values(plan, rows, key, reduce), path, cmap, label, title,
              vmin=0.5 if accuracy else 1,
              vmax=1.0 if accuracy else plan.base.get("epochs", 10),
              fmt="{:.2f}" if accuracy else "{:g}")
        paths.append(path)
    return paths


def _draw(plan, panels, path, cmap, label, title, vmin, vmax, fmt) -> None:
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    (n0, v0), (n1, v1), (n2, _) = padded_axes(plan)
    width, height = min(4.5 * len(panels), 16) + 1.2, max(3.5, 0.3 * len(v0) + 2.0)
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    colours, norm = colormaps[cmap], Normalize(vmin, vmax)
    # Numbers in the cells where they fit: the size a cell allows, 7 points at least.
    cell = min((width - 1.2) / len(panels) / max(len(v1), 1), (height - 1.5) / max(len(v0), 1))
    size = min(11.0, cell * 72 / 3.2)
    image = None
    for k, (value2, grid) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        image = ax.imshow(np.ma.masked_invalid(grid), origin="lower", cmap=colours, norm=norm,
                          aspect="auto")
        ax.set_facecolor("lightgray")
        ax.set_xticks(range(len(v1)), [str(v) for v in v1], fontsize=8)
        ax.set_yticks(range(len(v0)), [str(v) for v in v0], fontsize=8)
        ax.set_xlabel(n1)
        ax.set_ylabel(n0)
        if n2:
            ax.set_title(f"{n2} = {value2}", fontsize=9)
        for (i, j), v in np.ndenumerate(grid) if size >= 7 else ():
            if np.isfinite(v):
                r, g, b, _ = colours(norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # the cell's own luminance
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=size,
                        color="white" if dark else "black")
    fig.colorbar(image, ax=fig.axes, label=label, shrink=0.9)
    fig.suptitle(textwrap.fill(title, int(width * 12)), fontsize=10)  # ~12 characters an inch
    savefig_atomic(fig, path, dpi=100)
