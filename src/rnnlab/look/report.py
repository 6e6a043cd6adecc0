"""`rnnlab report SWEEP_DIR... [--out PAGE]`: finished sweeps as a Markdown page
with its heatmaps, a summary table and the command that reproduces it."""
from __future__ import annotations

import os

from rnnlab.config import TrainConfig, count
from rnnlab.look.heatmap import grid_values, padded_axes, save_heatmaps
from rnnlab.run.writes import write_atomic


def command_of(plan, folder: str) -> str:
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


def solved_values(plan, rows: list, solved: float) -> list:
    """[(second-axis value, [(first-axis values every seed learnt, those only some seeds
    learnt), one pair per third-axis value])]: the heatmap's grid, where a seed learnt a
    point when its final accuracy reached `solved` (averaged over further axes)."""
    (_, v0), (_, v1), _ = padded_axes(plan)

    def grids(reduce):
        return [grid for _, grid in grid_values(plan, rows, "accuracy", reduce)]

    worst = grids(lambda values: float(min(values)) if values else float("nan"))
    best = grids(lambda values: float(max(values)) if values else float("nan"))
    return [(b, [([a for i, a in enumerate(v0) if low[i, j] >= solved],
                  [a for i, a in enumerate(v0) if low[i, j] < solved <= high[i, j]])
                 for low, high in zip(worst, best)]) for j, b in enumerate(v1)]


def learnt(every: list, some: list) -> str:
    """'1-5 (6-7)': learnt by every seed, and in brackets by some seeds only."""
    return runs_of(every) + (f" ({runs_of(some)})" if some else "")


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


def title_of(sweeps: list) -> str:
    """The page's title: what its sweeps vary, and on which task."""
    if all([n for n, _ in plan.axes[:2]] == ["echo_step", "truncation"] for _, plan, _ in sweeps):
        return "What truncated backprop can learn"
    varied = []
    for _, plan, _ in sweeps:
        task = plan.base.get("task", "echo")
        what = " x ".join(name for name, _ in plan.axes)
        varied.append(f"{what} (task {task})")
    return "Sweeps: " + "; ".join(dict.fromkeys(varied))


def write_report(sweeps: list, out: str, solved: float) -> str:
    """The page `out` of finished sweeps [(folder, plan, rows)], its pictures beside it;
    `solved`: the accuracy that counts as learnt."""
    page_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(page_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(out))[0]
    lines = [f"# {title_of(sweeps)}", "",
             "Produced by `rnnlab report` from the sweeps below; the command shown with "
             "each reproduces it.", ""]
    for folder, plan, rows in sweeps:
        name = os.path.basename(os.path.normpath(folder))
        (n0, _), (n1, _), (n2, v2) = padded_axes(plan)
        lines += [f"## {name}", "", "```", command_of(plan, folder), "```", "",
                  f"{count(len(rows), 'network')}: {count(len(plan.points()), 'grid point')}"
                  f" x {count(len(plan.seeds), 'seed')}, "
                  f"{count(plan.base.get('epochs', 10), 'epoch')} each.", ""]
        if (n0, n1) == ("echo_step", "truncation"):
            lines += ["How to read it: a gradient connects a target to the input it "
                      "repeats, k steps back, only when the truncation exceeds k, so that "
                      "both fall in one window: the bright triangle below the diagonal. "
                      "What the carried state holds without that credit can still be "
                      "read: the last step's input is in the state whatever the weights, "
                      "so a truncation of 1 learns an echo of 1, and some seeds read a lag "
                      "or two past their windows. Further past it, a network sees the "
                      "target but no gradient tells it which input caused it, and it stays "
                      "near chance (0.5). Near the diagonal, learning is slower and "
                      "depends on the seed.", ""]
        pictures = save_heatmaps(plan, rows, page_dir, solved, prefix=f"{stem}-{name}-")
        for path, caption in zip(pictures, ("Final accuracy, mean over seeds",
                                            f"Epochs to accuracy {solved}, median over "
                                            f"seeds (grey: not solved)")):
            target = os.path.basename(path)
            lines += [f"![{caption}]({target})", "", f"*{caption}.*", ""]
        what = (f"Values of {n0} learnt by every seed (final accuracy >= {solved}), and in "
                f"brackets those learnt by some of the {count(len(plan.seeds), 'seed')} only")
        if not n1:  # one axis: one line, no table
            (_, (line,)), = solved_values(plan, rows, solved)
            lines += [f"{what}: {learnt(*line)}.", ""]
            continue
        header = [n1] + [f"{n2} = {c}" if n2 else f"{n0} learnt" for c in v2]
        lines += [f"{what}, per {n1}:", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for b, line in solved_values(plan, rows, solved):
            lines.append(f"| {b} | " + " | ".join(learnt(*v) for v in line) + " |")
        lines += ["", "Where some seeds learn a value and others do not, the edge moves with "
                  "the seeds, and with the float rounding of a machine's CPU: read the "
                  "brackets as the edge's width, not as a fact about that value.", ""]
    write_atomic(out, "\n".join(lines))
    return out
