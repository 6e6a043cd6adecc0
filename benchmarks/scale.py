"""Characters per second at scale, whole runs side by side: `rnnlab train --task text`
against a Keras stateful layer trained with fit(jit_compile=True) and PyTorch's nn.LSTM /
nn.GRU with the state carried and detached between windows (word_language_model's way),
on the same characters (the first 300k of tiny Shakespeare), for T = 25, 50, 100, 200;
and rnnlab's scan cells (minGRU, minLSTM, the LRU: one block each, nn/scan_cells.py) at
the LSTM's parameter count, beside rnnlab's LSTM and PyTorch's.

    python benchmarks/scale.py [--cells lstm gru mingru minlstm lru] [--truncations 25 50 100 200]
                               [--layers 1] [--units 256] [--batch 64] [--epochs 3]
                               [--torch-python PATH] [--memory]

All three: one-hot characters, `layers` recurrent layers of `units`, a dense layer to the
65 characters, softmax cross-entropy, Adagrad (learning rate 0.3, accumulators from 0.1),
the state carried from window to window. rnnlab is timed as a user runs it (data,
console, metrics.csv, TensorBoard, checkpoints; no figure), through its Python API with
XLA's compile cache off. Keras runs in the same process, so with rnnlab's CPU allocator
(BFC, benchmarks/allocator.py) where its users get TensorFlow's malloc.

Counted: the characters an epoch trains, windows x batch x the steps each scores (from
the configuration that trained), over each epoch's wall time; every epoch after the
first is a repeat (median and range reported); the first epoch's extra time is its
compilation. GFLOP/s counts dense-equivalent training work per character,
3 x (sum over layers of 2 (I + U) G U + 2 U C): a forward pass and about twice it
backward, I the layer's inputs (65 one-hot characters, else U), U units, G gates (4 for
an LSTM, 3 for a GRU), C = 65 outputs (a scan cell's block: 6 x its weight matrices'
sizes, measure.py's flop_per_char); beside it, in brackets, its share of the machine's
float32 matrix-multiply peak, measured here (an XLA 2048^3 product).

PyTorch is optional: it is used where `import torch` works, or through another Python
that has it (--torch-python, which runs this file's PyTorch part); otherwise a note says
it was skipped. --memory adds rnnlab's peak memory (its process's maximum resident
size) at each T, each run in a fresh process.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from measure import flop_per_char, matmul_peak, parameters, width_for  # benchmarks/measure.py

HERE = os.path.dirname(os.path.abspath(__file__))
SHAKESPEARE = os.path.join(HERE, "..", "data", "tinyshakespeare.txt")
os.environ.setdefault("RNNLAB_XLA_CACHE", "off")  # compile time is part of what we report
SCANS = ["mingru", "minlstm", "lru"]
def corpus(folder: str, chars: int) -> str:
    with open(SHAKESPEARE, encoding="utf-8") as f:
        text = f.read()[:chars]
    path = os.path.join(folder, "shakespeare-head.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def summary(chars: int, seconds: list) -> dict:
    """chars/s of every epoch after the first: median, range; the first's extra time."""
    rates = [chars / s for s in seconds[1:]]
    return {"median": statistics.median(rates), "low": min(rates), "high": max(rates),
            "compile": seconds[0] - statistics.median(seconds[1:])}


def bench_rnnlab(cell, layers, units, batch, T, data, epochs, folder) -> dict:
    from rnnlab.config import TrainConfig
    from rnnlab.run.training import train

    config = TrainConfig(task="text", data=data, cell=cell, layers=layers, state_size=units,
                         batch_size=batch, truncation=T, epochs=epochs, seed=0, plot="none",
                         val_fraction=0.0, test_fraction=0.0,
                         out=os.path.join(folder, f"{cell}-{layers}-{T}"))
    run = train(config, force=True, stdout=io.StringIO())
    trained = run.config.num_windows * batch * run.config.step_size
    return summary(trained, run.history.seconds)


def windows_of(data: str, batch: int, T: int):
    """The text as rnnlab cuts it: ids, `batch` rows, windows [n, batch, T] in order."""
    from rnnlab.config import TrainConfig
    from rnnlab.data.corpus import load_corpus
    from rnnlab.data.series import to_windows
    from rnnlab.settings import resolve
    from rnnlab.data.tasks import TASKS

    config = resolve(TrainConfig(task="text", data=data, batch_size=batch, truncation=T,
                                 val_fraction=0.0, test_fraction=0.0, seed=0, out=os.devnull))
    x, y = TASKS["text"].series(None, config, load_corpus(config))
    return to_windows(x, T), to_windows(y, T), config.num_classes


def bench_keras(cell, layers, units, batch, T, data, epochs) -> dict:
    import keras

    xw, yw, V = windows_of(data, batch, T)
    x = np.eye(V, dtype=np.float32)[xw.reshape(-1, T)]  # window by window, rows in place
    y = yw.reshape(-1, T)
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inputs = keras.Input(batch_shape=(batch, T, V))
    h = inputs
    for _ in range(layers):
        h = layer(units, return_sequences=True, stateful=True)(h)
    model = keras.Model(inputs, keras.layers.Dense(V)(h))
    model.compile(optimizer=keras.optimizers.Adagrad(0.3, initial_accumulator_value=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        for lay in model.layers:
            if hasattr(lay, "reset_states"):
                lay.reset_states()
        seconds.append(time.perf_counter() - started)
    return summary(len(x) * T, seconds)


def bench_torch(cell, layers, units, batch, T, data, epochs) -> dict:
    import torch

    xw, yw, V = windows_of(data, batch, T)
    ids, targets = torch.tensor(xw).transpose(1, 2), torch.tensor(yw).transpose(1, 2)  # [n, T, B]
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](V, units, layers)
    out = torch.nn.Linear(units, V)
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adagrad(params, lr=0.3, initial_accumulator_value=0.1)
    eye = torch.eye(V)
    seconds = []
    for _ in range(epochs):
        started, state = time.perf_counter(), None
        for i in range(len(ids)):
            logits, state = rnn(eye[ids[i]], state)
            state = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()
            loss = torch.nn.functional.cross_entropy(out(logits).reshape(-1, V),
                                                     targets[i].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - started)
    return summary(len(ids) * batch * T, seconds)


def torch_elsewhere(python: str | None, cell, layers, units, batch, T, data, epochs):
    """bench_torch in this process, or in `python` (one with torch), or None."""
    try:
        import torch  # noqa: F401
        return bench_torch(cell, layers, units, batch, T, data, epochs)
    except ImportError:
        if not python:
            return None
    done = subprocess.run([python, __file__, "--torch-part", json.dumps(
        [cell, layers, units, batch, T, data, epochs])], capture_output=True, text=True,
        check=True, env={**os.environ, "PYTHONPATH": os.path.join(HERE, "..", "src")})
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_memory(cell, layers, units, batch, T, data, epochs) -> float:
    """GiB: the largest resident size of a fresh process running one rnnlab run (its
    VmHWM: getrusage's maximum would count this large parent's, kept across fork)."""
    code = (f"import sys, tempfile; sys.path.insert(0, {HERE!r}); import scale; "
            f"scale.bench_rnnlab({cell!r}, {layers}, {units}, {batch}, {T}, {data!r}, "
            f"{epochs}, tempfile.mkdtemp()); "
            f"print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 2**20


def cell_text(r: dict | None, flops: int, peak: float) -> str:
    if r is None:
        return "skipped"
    gflops = r["median"] * flops / 1e9
    return (f"{r['median'] / 1e3:,.1f}k ({r['low'] / 1e3:,.1f}-{r['high'] / 1e3:,.1f}), "
            f"{gflops:,.0f} GFLOP/s ({gflops / peak:.0%})")


def ratio(ours: dict | None, theirs: dict | None) -> str:
    return f"{ours['median'] / theirs['median']:.2f}x" if ours and theirs else "-"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "mingru", "minlstm", "lru"],
                        choices=["lstm", "gru"] + SCANS)
    parser.add_argument("--truncations", nargs="+", type=int, default=[25, 50, 100, 200])
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--chars", type=int, default=300_000)
    parser.add_argument("--epochs", type=int, default=3, help="the first compiles; the rest are repeats")
    parser.add_argument("--torch-python", help="a Python with torch, if this one has none")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--torch-part", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.torch_part:
        print(json.dumps(bench_torch(*json.loads(args.torch_part))))
        return
    from rnnlab._tf import tf

    peak = matmul_peak()
    with tempfile.TemporaryDirectory() as folder:
        data = corpus(folder, args.chars)
        print(f"The first {args.chars:,} characters of tiny Shakespeare; {args.layers} layer(s) "
              f"of {args.units} units, batch {args.batch}, Adagrad; TensorFlow {tf.__version__}, "
              f"{os.cpu_count()} CPUs; float32 matmul peak {peak:,.0f} GFLOP/s (XLA, "
              f"2048^3). Characters per second: median (range) of {args.epochs - 1} epochs "
              f"after the first.\n")
        scans = [c for c in args.cells if c in SCANS]
        steps = [c for c in args.cells if c not in SCANS] or ["lstm"]  # scans' reference
        print("| cell | T | rnnlab | Keras layer + fit(jit_compile) | PyTorch nn.%s | "
              "rnnlab / Keras | rnnlab / PyTorch | first-epoch compile, s (rnnlab, Keras) |"
              % "LSTM/GRU")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        lstm = {}  # T -> (rnnlab's, PyTorch's)
        for cell in steps:
            flops = flop_per_char(cell, args.layers, args.units, 65)
            for T in args.truncations:
                shape = (cell, args.layers, args.units, args.batch, T, data, args.epochs)
                ours = bench_rnnlab(*shape, folder)
                keras_ = bench_keras(*shape)
                torch_ = torch_elsewhere(args.torch_python, *shape)
                if cell == "lstm":
                    lstm[T] = ours, torch_
                print(f"| {cell} | {T} | {cell_text(ours, flops, peak)} | "
                      f"{cell_text(keras_, flops, peak)} | {cell_text(torch_, flops, peak)} | "
                      f"{ratio(ours, keras_)} | {ratio(ours, torch_)} | "
                      f"{ours['compile']:.1f}, {keras_['compile']:.1f} |", flush=True)
        if scans:
            size = parameters("lstm", args.layers, args.units, 65)
            print(f"\nThe scan cells at the LSTM's {size:,} weights (their widths below): "
                  f"characters per second, and beside rnnlab's LSTM and PyTorch's.\n")
            print("| cell | width | weights | T | rnnlab | / rnnlab LSTM | / PyTorch LSTM |")
            print("|---|---:|---:|---:|---:|---:|---:|")
        for cell in scans:
            width = width_for(cell, size, args.layers, 65)
            flops = flop_per_char(cell, args.layers, width, 65)
            weights = parameters(cell, args.layers, width, 65)
            for T in args.truncations:
                ours = bench_rnnlab(cell, args.layers, width, args.batch, T, data, args.epochs,
                                    folder)
                theirs = lstm.get(T, (None, None))
                print(f"| {cell} | {width} | {weights:,} | {T} | {cell_text(ours, flops, peak)} "
                      f"| {ratio(ours, theirs[0])} | {ratio(ours, theirs[1])} |", flush=True)
        if args.memory:
            print("\n| cell | T | rnnlab peak memory, GiB |\n|---|---:|---:|")
            for cell in args.cells:
                for T in args.truncations:
                    gib = peak_memory(cell, args.layers, args.units, args.batch, T, data, 2)
                    print(f"| {cell} | {T} | {gib:.2f} |", flush=True)
    try:
        import torch  # noqa: F401
    except ImportError:
        if not args.torch_python:
            print("\nPyTorch skipped: torch is not installed here (pip install torch, or "
                  "--torch-python PATH for a Python that has it).")


if __name__ == "__main__":
    main()
