"""`rnnlab report SWEEP_DIR... [--out PAGE]`: finished sweeps as a Markdown page
with its heatmaps, a summary table and the command that reproduces it."""
from __future__ import annotations

import csv
import json
import os
import shutil

from rnnlab.config import TrainConfig
from rnnlab.heatmap import grid_values, mean_or_nan, padded_axes
from rnnlab.runfiles import write_atomic
from rnnlab.sweep import SOLVED, Plan


def load_sweep(folder: str):
    with open(os.path.join(folder, "sweep.json")) as f:
        data = json.load(f)
    plan = Plan(data["base"], tuple((n, tuple(v)) for n, v in data["axes"]), tuple(data["seeds"]))
    with open(os.path.join(folder, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    # Back to the values the sweep wrote: the plan's own for the axes, numbers for the rest.
    typed = {name: {str(v): v for v in values} for name, values in plan.axes}
    for r in rows:
        for name, values in typed.items():
            r[name] = values[r[name]]
        r["accuracy"] = float(r["accuracy"])
    return plan, rows


def command_of(plan: Plan, folder: str) -> str:
    """The `rnnlab sweep` command that trains this plan."""
    def values(v):
        if len(v) > 2 and all(isinstance(a, int) for a in v) and list(v) == list(range(v[0], v[-1] + 1)):
            return f"{v[0]}:{v[-1]}"
        return ",".join(str(a) for a in v)

    parts = ["rnnlab sweep --grid"] + [f"{n}={values(v)}" for n, v in plan.axes]
    parts.append(f"--seeds {len(plan.seeds)}")
    if plan.seeds[0]:
        parts.append(f"--seed {plan.seeds[0]}")
    defaults = TrainConfig()
    for name, value in sorted(plan.base.items()):
        if name == "epochs" or getattr(defaults, name) != value:
            parts.append(f"--{name.replace('_', '-')} {value}")
    parts.append(f"--out {folder}")
    return " ".join(parts)


def solved_values(plan: Plan, rows: list) -> list:
    """[(second-axis value, [first-axis values whose mean accuracy over seeds (and
    further axes) reaches SOLVED, one list per third-axis value])]: the heatmap's grid."""
    (_, v0), (_, v1), _ = padded_axes(plan)
    panels = [grid for _, grid in grid_values(plan, rows, "accuracy", mean_or_nan)]
    return [(b, [[a for i, a in enumerate(v0) if grid[i, j] >= SOLVED] for grid in panels])
            for j, b in enumerate(v1)]


def runs_of(values: list) -> str:
    """[1, 2, 3, 5, 7, 8] -> '1-3, 5, 7-8' (integers; other values listed)."""
    if not values:
        return "none"
    if not all(isinstance(v, int) for v in values):
        return ", ".join(str(v) for v in values)
    parts, start = [], values[0]
    for prev, v in zip(values, values[1:] + [None]):
        if v != prev + 1 if v is not None else True:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = v
    return ", ".join(parts)


def write_report(folders: list, out: str) -> str:
    page_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(page_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(out))[0]
    lines = ["# What truncated backprop can learn", "",
             "Produced by `rnnlab report` from the sweeps below; the command shown with "
             "each reproduces it.", ""]
    for folder in folders:
        plan, rows = load_sweep(folder)
        name = os.path.basename(os.path.normpath(folder))
        (n0, _), (n1, _), (n2, v2) = padded_axes(plan)
        lines += [f"## {name}", "", "```", command_of(plan, folder), "```", "",
                  f"{len(rows)} networks: {len(plan.points())} grid points x "
                  f"{len(plan.seeds)} seeds, {plan.base.get('epochs')} epochs each.", ""]
        if (n0, n1) == ("echo_step", "truncation"):
            lines += ["How to read it: an echo of k steps can be learnt only when the "
                      "truncation exceeds k, so that the input and the target that repeats "
                      "it fall in one window and a gradient connects them: the bright "
                      "triangle below the diagonal. Past it, a network sees the target "
                      "but no gradient tells it which input caused it, and it stays near "
                      "chance (0.5). Near the diagonal, learning is slower and depends on "
                      "the seed.", ""]
        for picture, caption in (("accuracy.png", "Final accuracy, mean over seeds"),
                                 ("epochs_to_solve.png", f"Epochs to accuracy {SOLVED}, "
                                  "median over seeds (blank: not solved)")):
            target = f"{stem}-{name}-{picture}"
            shutil.copyfile(os.path.join(folder, picture), os.path.join(page_dir, target))
            lines += [f"![{caption}]({target})", "", f"*{caption}.*", ""]
        learnt = f"Values of {n0} learnt (mean accuracy over seeds >= {SOLVED})"
        if not n1:  # one axis: one line, no table
            (_, (line,)), = solved_values(plan, rows)
            lines += [f"{learnt}: {runs_of(line)}.", ""]
            continue
        header = [n1] + [f"{n2} = {c}" if n2 else f"{n0} learnt" for c in v2]
        lines += [f"{learnt}, per {n1}:", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for b, line in solved_values(plan, rows):
            lines.append(f"| {b} | " + " | ".join(runs_of(v) for v in line) + " |")
        lines.append("")
    write_atomic(out, "\n".join(lines))
    return out
