"""`rnnlab inspect RUN`: one self-contained HTML page (RUN/inspect.html) showing a trained
run's units at work, after Karpathy, Johnson and Fei-Fei (2015): its settings and
learning curves; a stretch of data (a held-out part of a text, fresh data for a
synthetic task) with the model's predictions, each symbol coloured by its loss; every
unit's activation along it, colouring the same symbols; the units ranked by how well
each tracks a feature of the task (data/features.py); each gate unit's saturation; and
diagnose's curves where `rnnlab diagnose` has run. No network access, no server: the
page's script and style are in it (look/inspect.html), and its data is one JSON.

`rnnlab inspect SWEEP` shows a sweep's heatmaps; `--point NAME=V ...` one of its
networks, trained again from its settings (deterministic: the same network) into
SWEEP/members/, then inspected.
"""
from __future__ import annotations

import base64
import csv
import json
import os

import numpy as np

from rnnlab.errors import UsageError
from rnnlab.run import writes

MAX_LENGTH = 20_000        # steps of the stretch
MAX_VALUES = 16_000_000    # units x steps on the page (one byte each): about 21 MB at most
DEFAULT_LENGTH = 2000
TOP = 20                   # units in the ranking
PAGE = os.path.join(os.path.dirname(__file__), "inspect.html")


def page_values(settings, length: int) -> int:
    """How many unit values a page of `length` steps holds (the size bound's measure)."""
    return length * settings.layers * settings.state_size * len(settings.cell.parts)


def inspect(run_dir: str, split: str | None = None, length: int | None = None, seed: int = 0,
            out: str | None = None, newest: bool = False) -> str:
    """Write the page of a run; returns its path (default RUN/inspect.html)."""
    from rnnlab.data.corpus import load_corpus, symbols_of_vocab
    from rnnlab.data.features import correlations, features
    from rnnlab.nn.along import along, gates_along
    from rnnlab.run.checkpoint import load_trained

    settings, model = load_trained(run_dir, newest)
    task = settings.task
    length = DEFAULT_LENGTH if length is None else length
    corpus = None if task.synthetic else load_corpus(settings, task.word_level)
    symbols = None if task.synthetic and task.inputs != "symbols" else symbols_of_vocab(
        settings, task.word_level)
    if corpus is None:
        stretch = task.stretch(settings, "fresh", seed=seed, rows=1, length=length, layout="rows")
    else:
        part = split or next(p for p in ("val", "test", "train") if len(corpus[p]) > 1)
        stretch = task.stretch(settings, part, corpus, rows=1, length=length)
    scores = along(model, stretch.x, stretch.y, settings.truncation, task.tolerance, states=True)
    names, values = [], []
    for (layer, part_name), states in zip(model.state_names, scores["states"]):
        for i in range(states.shape[-1]):
            names.append(f"layer {layer} {part_name}[{i}]")
            values.append(states[0, :, i])
    activations = np.stack(values, axis=1)                              # [L, units]
    named = {k: v[0] for k, v in features(task, settings, stretch.x, symbols).items()}
    feature_names, r = correlations(activations, named)
    data = {"title": f"rnnlab inspect: {os.path.basename(os.path.normpath(run_dir))}",
            "subtitle": _subtitle(settings, run_dir), "settings": _settings(settings),
            "truncation": settings.truncation, "curves": _curves(run_dir),
            "stretch": _stretch(task, stretch, scores, symbols),
            "units": _units(names, activations), "ranking": _ranking(feature_names, r, task),
            "gates": _gates(model, gates_along(model, stretch.x)),
            "gates_note": "This cell has no gates." if not model.cell.gate_names else
                          "Keras's cells keep their gates to themselves.",
            "diagnose": _diagnose(run_dir), "sweep": None}
    return _write(data, out or os.path.join(run_dir, "inspect.html"))


def _subtitle(settings, run_dir: str) -> str:
    layers = f"{settings.layers} x " if settings.layers > 1 else ""
    data = f" of {os.path.basename(settings.data)}" if settings.data else ""
    return (f"{settings.cell.name}, {layers}{settings.state_size} units, task "
            f"{settings.task.name}{data}, truncation {settings.truncation}, "
            f"gradient {settings.gradient.name}; {os.path.abspath(run_dir)}")


def _settings(settings) -> dict:
    shown = {}
    for name, value in json.loads(settings.to_json()).items():
        if name in ("vocab", "out", "data_sha256") or value is None:
            continue
        shown[name.replace("_", " ")] = value
    if settings.vocab:
        shown["symbols"] = len(settings.vocab.split("\n") if settings.task.word_level
                               else settings.vocab)
    return shown


def _rows(path: str) -> list:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def _curves(run_dir: str) -> dict:
    """Per window (thinned to at most 3000 points) and per epoch, from the run's files."""
    windows = [_number(r.get("loss")) for r in _rows(os.path.join(run_dir, "metrics.csv"))]
    every = max(1, len(windows) // 3000)
    epochs = _rows(os.path.join(run_dir, "epochs.csv"))
    column = lambda name: [_number(r.get(name)) for r in epochs]  # noqa: E731
    return {"window": {"x": list(range(0, len(windows), every)), "loss": windows[::every]},
            "epoch": {"x": list(range(len(epochs))), "train_loss": column("train_loss"),
                      "train_accuracy": column("train_accuracy"), "val_loss": column("val_loss"),
                      "val_accuracy": column("val_accuracy")}}


def _stretch(task, stretch, scores, symbols) -> dict:
    x, y = stretch.x[0], stretch.y[0]
    if task.regression:  # the adding task: values, marked ones in brackets; sums
        shown = [f"[{v:.2f}]" if m else f"{v:.2f}" for v, m in x]
        targets = [f"{t:.2f}" if np.isfinite(t) else "" for t in y]
        predicted = [f"{p:.2f}" for p in scores["predicted"][0]]
        probability = [None] * len(y)
    elif symbols is None:  # bits
        shown, targets = [str(int(v)) for v in x], [str(int(v)) for v in y]
        predicted = [str(int(v)) for v in scores["predicted"][0]]
        probability = [round(float(p), 4) for p in scores["probability"][0]]
    else:
        show = (lambda i: "\n" if symbols[i] == "<eos>" else symbols[i])  # noqa: E731
        shown, targets = [show(i) for i in x], [show(i) for i in y]
        predicted = [show(i) for i in scores["predicted"][0]]
        probability = [round(float(p), 4) for p in scores["probability"][0]]
    where = ("fresh data drawn from seed" if stretch.part == "fresh" else
             f"the {stretch.part} part of its text")
    return {"symbols": shown, "targets": targets, "predicted": predicted,
            "probability": probability, "loss": [_number(v) for v in scores["loss"][0]],
            "separator": " " if task.word_level or task.regression else "",
            "note": f"{len(y):,} steps of {where}, the state carried from zeros; each symbol "
                    f"read is coloured by the loss of predicting the next target "
                    f"(accuracy {float(np.mean(scores['right'])):.3f})."}


def _units(names: list, activations: np.ndarray) -> dict:
    scales = np.maximum(np.abs(activations).max(axis=0), 1e-12)
    quantised = np.round(activations / scales * 127).astype(np.int8)       # [L, units]
    return {"names": names, "scales": [float(s) for s in scales],
            "values": base64.b64encode(quantised.T.tobytes()).decode("ascii")}


def _ranking(feature_names: list, r: np.ndarray, task) -> dict:
    best = np.abs(r).argmax(axis=0)
    per_unit = [{"feature": feature_names[f], "r": float(r[f, u])} for u, f in enumerate(best)]
    order = np.argsort(-np.abs([p["r"] for p in per_unit]))[:TOP]
    return {"best": per_unit, "top": [{"unit": int(u), **per_unit[u]} for u in order],
            "note": f"Each unit against what the task's data holds at each step "
                    f"({', '.join(feature_names)}): Pearson's r of its activation and the "
                    f"feature along the stretch, each unit with the feature it tracks best, "
                    f"the {TOP} that track theirs most closely first. Click one to colour "
                    f"the text by it."}


def _gates(model, gates: list) -> list:
    """Per layer and sigmoid gate: each unit's fractions of the stretch below 0.1 and above 0.9."""
    out, units = [], model.units
    for layer, g in enumerate(gates):
        for block, name in enumerate(model.cell.gate_names):
            if not name.endswith("*"):
                continue
            values = g[0, :, block * units:(block + 1) * units]          # [L, units]
            out.append({"name": f"layer {layer}, {name[:-1]} gate",
                        "left": [float(v) for v in (values < 0.1).mean(axis=0)],
                        "right": [float(v) for v in (values > 0.9).mean(axis=0)]})
    return out


def _diagnose(run_dir: str) -> dict | None:
    rows = _rows(os.path.join(run_dir, "diagnose.csv"))
    if not rows:
        return None
    probe = next(k for k in rows[0] if k.startswith("probe_"))
    bias = _rows(os.path.join(run_dir, "truncation_bias.csv"))
    return {"lag": [int(r["lag"]) for r in rows],
            "gradient": [_number(r["gradient_norm"]) for r in rows],
            "probe": [_number(r[probe]) for r in rows], "probe_name": probe.replace("_", " "),
            "bias": {"k": [int(r["k"]) for r in bias],
                     "cosine": [_number(r["cosine"]) for r in bias],
                     "relative_error": [_number(r["relative_error"]) for r in bias]}
            if bias else None}


def inspect_sweep(sweep_dir: str, plan, rows: list, solved: float, out: str | None = None) -> str:
    """The page of a sweep: its command and heatmaps (drawn afresh from results.csv)."""
    import tempfile

    from rnnlab.look.heatmap import save_heatmaps
    from rnnlab.look.report import command_of

    with tempfile.TemporaryDirectory() as scratch:
        pictures = save_heatmaps(plan, rows, scratch, solved)
        heatmaps = [{"caption": caption, "src": "data:image/png;base64," + base64.b64encode(
            open(path, "rb").read()).decode("ascii")} for path, caption in zip(
            pictures, ("Final accuracy, mean over seeds", f"Epochs to accuracy {solved}"))]
    name = os.path.basename(os.path.normpath(sweep_dir))
    data = {"title": f"rnnlab inspect: sweep {name}", "subtitle": os.path.abspath(sweep_dir),
            "settings": {"grid": ", ".join(f"{n} {list(v)}" for n, v in plan.axes),
                         "seeds": len(plan.seeds), "networks": len(rows),
                         **{k.replace("_", " "): v for k, v in plan.base.items()}},
            "stretch": None, "sweep": {"command": command_of(plan, sweep_dir),
                                       "heatmaps": heatmaps}}
    return _write(data, out or os.path.join(sweep_dir, "inspect.html"))


def _write(data: dict, path: str) -> str:
    from rnnlab.run.writes import write_atomic

    with open(PAGE, encoding="utf-8") as f:
        template = f.read()
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # no </script> inside
    write_atomic(path, template.replace("/*DATA*/null", text))
    return path


def check_request(args, config) -> None:
    """UsageError naming what cannot work in an `rnnlab inspect` command line for a run
    of `config`, before TensorFlow loads and before any work."""
    task = config.task
    length = DEFAULT_LENGTH if args.length is None else args.length
    if not 1 <= length <= MAX_LENGTH:
        raise UsageError(f"--length must be an integer from 1 to {MAX_LENGTH:,}, got {length}")
    values = page_values(config, length)
    if values > MAX_VALUES:
        raise UsageError(f"--length {length} would put {values:,} unit values on the page (at "
                         f"most {MAX_VALUES:,}, about 21 MB); try --length "
                         f"{MAX_VALUES // (values // length)}")
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be in [0, 2**32), got {args.seed}")
    if args.split is not None and task.synthetic:
        raise UsageError(f"--split is for text and words runs; {args.run_dir!r} is a --task "
                         f"{task.name} run, whose page shows fresh data (--seed)")
    fractions = {"val": config.val_fraction, "test": config.test_fraction}
    if args.split in fractions and not fractions[args.split]:
        raise UsageError(f"run {args.run_dir!r} holds no {args.split} part of its file; try "
                         f"--split train")
    out = args.out or os.path.join(args.run_dir, "inspect.html")
    writes.check_target(out, "--out")
    writes.check_output_folder(os.path.dirname(os.path.abspath(out)), "--out folder", named=out)
