"""`rnnlab runs [DIR]`: the runs in a folder, a line each: what each trains, how far it
has come, its best loss, whether a process is training it now. Reads config.json and
epochs.csv only (no TensorFlow): answers at once, while runs train."""
from __future__ import annotations

import csv
import math
import os

from rnnlab.errors import RunDirError
from rnnlab.run.runfiles import check_free
from rnnlab.settings import stored


def run_folders(folder: str) -> list:
    """`folder` itself if it is a run, else the runs in it (one level down), by name."""
    if os.path.isfile(os.path.join(folder, "config.json")):
        return [folder]
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if os.path.isfile(os.path.join(folder, name, "config.json")))


def describe(run_dir: str) -> dict:
    """What `rnnlab runs` says of one run (a run whose config.json cannot be read says so)."""
    try:
        settings = stored(run_dir)
    except RunDirError as err:
        return {"run": run_dir, "problem": str(err)}
    rows = []
    try:
        with open(os.path.join(run_dir, "epochs.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    val = [_number(r.get("val_loss")) for r in rows]
    train = [_number(r.get("train_loss")) for r in rows]
    best = min((v for v in val if math.isfinite(v)), default=None)
    try:
        check_free(run_dir)
        state = "finished" if len(rows) >= settings.epochs else "stopped"
    except RunDirError:
        state = "training"
    layers = f"{settings.layers}x" if settings.layers > 1 else ""
    return {"run": run_dir, "task": settings.task.name, "cell": settings.cell.name,
            "units": f"{layers}{settings.state_size}", "epochs": f"{len(rows)}/{settings.epochs}",
            "best_val_loss": best, "last_train_loss": train[-1] if train else None,
            "state": state}


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def table(folder: str) -> str:
    """The lines `rnnlab runs` prints."""
    runs = [describe(r) for r in run_folders(folder)]
    if not runs:
        return f"no runs in {folder}"
    header = ("run", "task", "cell", "units", "epochs", "best val loss", "last train loss",
              "state")
    lines = [header]
    for r in runs:
        if "problem" in r:
            lines.append((r["run"], "", "", "", "", "", "", r["problem"]))
            continue
        lines.append((r["run"], r["task"], r["cell"], r["units"], r["epochs"],
                      _shown(r["best_val_loss"]), _shown(r["last_train_loss"]), r["state"]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in lines)


def _shown(value) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.4f}"
