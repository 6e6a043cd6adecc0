"""A Shakespeare character model, trained the same way by rnnlab, Keras and PyTorch for
the same wall time: validation loss as time goes, characters per second.

    python benchmarks/shakespeare.py [FILE] [--minutes 10]
                                     [--frameworks rnnlab keras torch rnnlab-mingru]
                                     [--learning-rate 0.002] [--dropout 0]
                                     [--init INIT] [--torch-python PATH] [--out DIR]

FILE: tiny Shakespeare (data/tinyshakespeare.txt, the default). All three: characters
one-hot, a 2-layer LSTM of 256 units, a dense layer to the characters, windows of 100,
batch 64 (64 rows, each a contiguous part of the training text, the state carried from
window to window and detached at its edges), Adam, gradients clipped to a global norm
of 5; --dropout on each LSTM layer's outputs (between the layers and before the dense
layer, a fresh mask each step, as rnnlab drops); the file split by position into 90% training, 5% validation, 5% test, as rnnlab
splits it (its --val-fraction and --test-fraction defaults). Validation loss (nats per
character) after each epoch, on the validation part with the state carried across its
windows, in 64 rows; the clock runs from each one's start (imports, compilation and
validation included).

  rnnlab   `rnnlab train --task text ...` in a process of its own, stopped with SIGTERM
           when the time is up (it checkpoints and says where); its epochs.csv
  keras    keras.layers.LSTM(stateful=True) x 2 + Dense, fit(jit_compile=True) one epoch
           at a time, states reset between epochs; evaluate() the validation windows;
           TensorFlow's own CPU allocator (malloc), as a Keras user gets it
  torch    nn.LSTM(num_layers=2) + Linear, clip_grad_norm_, in this process if torch
           imports, else in --torch-python's (skipped with a note without either)
  rnnlab-mingru, rnnlab-minlstm, rnnlab-lru
           `rnnlab train --cell CELL --layers 3`, as wide as gives the LSTM's weight
           count (nn/scan_cells.py's blocks), the same settings otherwise
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHAKESPEARE = os.path.join(HERE, "..", "data", "tinyshakespeare.txt")
SETTINGS = dict(layers=2, units=256, truncation=100, batch=64, clip=5.0)
SCAN_BLOCKS = 3  # as minGRU's paper stacks them for Shakespeare (3 of 384 there)
sys.path.insert(0, HERE)


def parts(path: str, batch: int, T: int):
    """rnnlab's own split and windows: (train x, y windows [n, B, T], val ids, classes)."""
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    from rnnlab.config import TrainConfig
    from rnnlab.data.corpus import load_corpus
    from rnnlab.data.series import to_windows
    from rnnlab.settings import resolve
    from rnnlab.data.tasks import TASKS

    config = resolve(TrainConfig(task="text", data=path, batch_size=batch, truncation=T,
                                 seed=0, out=os.devnull))
    corpus = load_corpus(config)
    x, y = TASKS["text"].series(None, config, corpus)
    return to_windows(x, T), to_windows(y, T), corpus["val"], config.num_classes


def rows(ids: np.ndarray, batch: int, T: int):
    """Held-out ids as `batch` rows cut into whole windows: x, y [n, B, T] (the rest of
    a row shorter than a window is left out, the same for Keras and PyTorch)."""
    n = (len(ids) - 1) // batch * batch
    x, y = ids[:n].reshape(batch, -1), ids[1:n + 1].reshape(batch, -1)
    w = x.shape[1] // T
    cut = lambda a: a[:, :w * T].reshape(batch, w, T).transpose(1, 0, 2)  # noqa: E731
    return cut(x), cut(y)


def scan_model(name: str) -> tuple:
    """A scan-cell framework's (cell, blocks, width): `rnnlab-mingru` is SCAN_BLOCKS
    blocks of minGRU as wide as gives the 2x256 LSTM's weight count (measure.py)."""
    from measure import parameters, width_for

    cell = name.split("-", 1)[1]
    lstm = parameters("lstm", SETTINGS["layers"], SETTINGS["units"], 65)
    return cell, SCAN_BLOCKS, width_for(cell, lstm, SCAN_BLOCKS, 65)


def run_rnnlab(path, minutes, rate, out, dropout=0.0, init=None, model=None) -> list:
    """[(seconds since start, epoch, val loss, chars/s)] from a real `rnnlab train`."""
    cell, layers, units = model or ("lstm", SETTINGS["layers"], SETTINGS["units"])
    command = [sys.executable, "-m", "rnnlab", "train", "--task", "text", "--data", path,
               "--cell", cell, "--layers", str(layers), "--state-size", str(units),
               "--truncation", "100",
               "--batch-size", "64", "--optimizer", "adam", "--learning-rate", str(rate),
               "--clip", "5", "--epochs", "1000", "--plot", "none", "--seed", "0",
               "--log-every", "1000", "--out", out, "--force", "--dropout", str(dropout)]
    command += ["--init", init] if init else []
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    timer = threading.Timer(minutes * 60, proc.send_signal, [signal.SIGTERM])
    timer.start()
    points = []
    for line in proc.stdout:
        if line.startswith("Epoch ") and "validation loss" in line:
            points.append((time.perf_counter() - started, len(points),
                           float(line.split("validation loss ")[1].split()[0])))
    proc.wait()
    timer.cancel()
    import csv

    with open(os.path.join(out, "epochs.csv")) as f:
        seconds = [float(r["seconds"]) for r in csv.DictReader(f)]
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    windows = (config["series_length"] // 64 - 100) // 100 + 1  # rnnlab's num_windows
    chars = windows * 64 * 100
    return [(t, e, v, chars / s) for (t, e, v), s in zip(points, seconds)]


def run_keras(path, minutes, rate, dropout=0.0) -> list:
    started = time.perf_counter()
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    # Keras with TensorFlow's own CPU allocator, as its users get it (rnnlab's is BFC)
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "false")
    from rnnlab._tf import tf  # noqa: F401  (TensorFlow as rnnlab loads it: quiet, same flags)
    import keras

    T, B = SETTINGS["truncation"], SETTINGS["batch"]
    xw, yw, val, V = parts(path, B, T)
    eye = np.eye(V, dtype=np.float32)
    x, y = eye[xw.reshape(-1, T)], yw.reshape(-1, T)
    vx, vy = (a.reshape(-1, T) for a in rows(val, B, T))
    inputs = keras.Input(batch_shape=(B, T, V))
    h = inputs
    for _ in range(SETTINGS["layers"]):
        h = keras.layers.LSTM(SETTINGS["units"], return_sequences=True, stateful=True)(h)
        h = keras.layers.Dropout(dropout)(h) if dropout else h
    model = keras.Model(inputs, keras.layers.Dense(V)(h))
    model.compile(optimizer=keras.optimizers.Adam(rate, global_clipnorm=SETTINGS["clip"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)

    def reset():
        for layer in model.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    points = []
    while time.perf_counter() - started < minutes * 60:
        epoch_start = time.perf_counter()
        model.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0)
        train_seconds = time.perf_counter() - epoch_start
        reset()
        loss = model.evaluate(eye[vx], vy, batch_size=B, verbose=0)
        reset()
        points.append((time.perf_counter() - started, len(points), float(loss),
                       len(x) * T / train_seconds))
    return points


def run_torch(path, minutes, rate, dropout=0.0) -> list:
    started = time.perf_counter()
    import torch

    T, B = SETTINGS["truncation"], SETTINGS["batch"]
    xw, yw, val, V = parts(path, B, T)
    device = "cuda" if torch.cuda.is_available() else "cpu"  # cuDNN's LSTM where there is one
    ids, targets = (torch.tensor(a).transpose(1, 2).to(device) for a in (xw, yw))
    vx, vy = (torch.tensor(a).transpose(1, 2).to(device) for a in rows(val, B, T))
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(V, SETTINGS["units"], SETTINGS["layers"], dropout=dropout).to(device)
    out = torch.nn.Linear(SETTINGS["units"], V).to(device)
    drop = torch.nn.Dropout(dropout)  # nn.LSTM drops between its layers, not after the last
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=rate)
    eye = torch.eye(V, device=device)
    points = []
    while time.perf_counter() - started < minutes * 60:
        epoch_start, state = time.perf_counter(), None
        rnn.train(), drop.train()
        for i in range(len(ids)):
            logits, state = rnn(eye[ids[i]], state)
            state = tuple(s.detach() for s in state)
            loss = torch.nn.functional.cross_entropy(out(drop(logits)).reshape(-1, V),
                                                     targets[i].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, SETTINGS["clip"])
            opt.step()
        train_seconds = time.perf_counter() - epoch_start
        rnn.eval(), drop.eval()
        with torch.no_grad():
            state, total = None, 0.0
            for i in range(len(vx)):
                logits, state = rnn(eye[vx[i]], state)
                total += float(torch.nn.functional.cross_entropy(
                    out(logits).reshape(-1, V), vy[i].reshape(-1)))
        points.append((time.perf_counter() - started, len(points), total / len(vx),
                       len(ids) * B * T / train_seconds))
    return points


def best_by(points: list, seconds: float) -> float:
    """The lowest validation loss reached within `seconds` (inf: none yet)."""
    return min([v for t, _, v, _ in points if t <= seconds], default=math.inf)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=SHAKESPEARE)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--frameworks", nargs="+", default=["rnnlab", "keras", "torch"])
    parser.add_argument("--learning-rate", type=float, default=0.002)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--init", help="rnnlab's --init (default: its own default)")
    parser.add_argument("--torch-python", help="a Python with torch, if this one has none")
    parser.add_argument("--out", help="rnnlab's run folder (default: a temporary one; a scan "
                        "cell's: OUT-CELL)")
    parser.add_argument("--figure", help="also draw validation loss against minutes to this PNG")
    parser.add_argument("--torch-part", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path = os.path.abspath(args.file)
    if args.torch_part:
        print(json.dumps(run_torch(path, *json.loads(args.torch_part))))
        return
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.frameworks:
            if name.startswith("rnnlab"):
                model = scan_model(name) if name != "rnnlab" else None
                if model:
                    from measure import parameters
                    print(f"{name}: {model[1]} blocks of width {model[2]}, "
                          f"{parameters(*model, 65):,} weights (the LSTM's: "
                          f"{parameters('lstm', 2, 256, 65):,})", flush=True)
                out = args.out and (args.out if name == "rnnlab" else f"{args.out}-{model[0]}")
                results[name] = run_rnnlab(path, args.minutes, args.learning_rate,
                                           out or os.path.join(folder, name),
                                           args.dropout, args.init, model)
            elif name == "keras":
                results[name] = run_keras(path, args.minutes, args.learning_rate, args.dropout)
            else:
                try:
                    import torch  # noqa: F401
                    results[name] = run_torch(path, args.minutes, args.learning_rate,
                                              args.dropout)
                except ImportError:
                    if not args.torch_python:
                        print("PyTorch skipped: torch is not installed here (pip install "
                              "torch, or --torch-python PATH).")
                        continue
                    done = subprocess.run([args.torch_python, __file__, path, "--torch-part",
                                           json.dumps([args.minutes, args.learning_rate,
                                                       args.dropout])],
                                          capture_output=True, text=True, check=True)
                    results[name] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name}: " + ", ".join(f"{t:.0f}s {v:.3f}" for t, _, v, _ in results[name]),
                  flush=True)
    print(f"\n2-layer LSTM of 256, windows of 100, batch 64, Adam {args.learning_rate}, "
          f"clip 5, dropout {args.dropout:g}, {args.minutes:g} minutes each; validation loss in nats per character "
          f"(bits: / ln 2)\n")
    print("| framework | epochs | chars/s (median) | best validation loss | at minutes "
          "2, 5, 10 |")
    print("|---|---:|---:|---:|---|")
    for name, points in results.items():
        marks = ", ".join(f"{best_by(points, m * 60):.3f}" for m in (2, 5, 10)
                          if m <= args.minutes)
        print(f"| {name} | {len(points)} | {np.median([p[3] for p in points]):,.0f} | "
              f"{min(p[2] for p in points):.3f} | {marks} |")
    minutes = range(1, int(args.minutes) + 1)
    print("\nbest validation loss by minute " + " ".join(f"{m:>6}" for m in minutes))
    for name, points in results.items():
        print(f"{name:>30} " + " ".join(f"{best_by(points, m * 60):6.3f}" for m in minutes))
    if args.figure:
        draw(results, args.figure)


def draw(results: dict, path: str) -> None:
    """Validation loss against wall-clock minutes, one line per framework."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, points in results.items():
        ax.plot([p[0] / 60 for p in points], [p[2] for p in points], marker=".", label=name)
    ax.axhline(1.5, color="gray", ls=":", label="1.50 nats (2.16 bits) per character")
    ax.set_xlabel("minutes (2 cores)")
    ax.set_ylabel("validation loss, nats per character")
    ax.set_title("tiny Shakespeare, 2-layer LSTM of 256, same settings", fontsize=10)
    ax.legend()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
