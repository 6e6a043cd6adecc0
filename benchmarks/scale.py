"""Characters per second at scale: rnnlab's from-scratch LSTM and GRU against Keras's
LSTM and GRU layers, on the text task, side by side in one process.

    python benchmarks/scale.py [--units 256] [--batch 64] [--truncation 50] [--windows 30]
                               [--sweep]

Both train on the same characters (tests/data/alice.txt repeated), one-hot inputs, a
softmax over the characters, TBPTT with the state carried between windows:
  rnnlab   rnnlab.train(): the TBPTT loop compiled by XLA, Adagrad, whole run as a user
           gets it (metrics.csv, TensorBoard, checkpoints)
  keras    keras.layers.LSTM / GRU (stateful, return_sequences) + Dense, compiled with
           jit_compile=True, trained with model.fit on the windows in order, Adagrad
Characters per second count the windows after the first epoch (compilation excluded).
--sweep also reports how rnnlab's cost grows with state size and truncation.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ALICE = os.path.join(HERE, "..", "tests", "data", "alice.txt")

from rnnlab._tf import tf  # noqa: E402
from rnnlab.config import TrainConfig  # noqa: E402
from rnnlab.corpus import encode_text  # noqa: E402
from rnnlab.series import to_windows  # noqa: E402
from rnnlab.settings import prepare  # noqa: E402
from rnnlab.tasks import TASKS  # noqa: E402
from rnnlab.training import train  # noqa: E402


def corpus(folder: str, windows: int, batch: int, truncation: int) -> str:
    """A text file long enough for `windows` windows per epoch."""
    text = open(ALICE, encoding="utf-8").read()
    needed = windows * batch * truncation + batch + 1
    path = os.path.join(folder, "corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write((text * (needed // len(text) + 1))[:needed])
    return path


def bench_rnnlab(cell, units, batch, truncation, data, folder, epochs=3):
    config = TrainConfig(task="text", data=data, cell=cell, state_size=units, batch_size=batch,
                         truncation=truncation, epochs=epochs, seed=0, plot="none",
                         out=os.path.join(folder, f"{cell}-{units}-{truncation}"))
    run = train(config, force=True, stdout=io.StringIO())
    chars = config.num_windows * batch * truncation
    return chars / float(np.median(run.history.seconds[1:]))


def bench_keras(cell, units, batch, truncation, data, epochs=3):
    import keras

    config = prepare(TrainConfig(task="text", data=data, batch_size=batch, truncation=truncation,
                                 seed=0))
    ids = encode_text(open(data, encoding="utf-8").read(), config.vocab)
    x, y = TASKS["text"].series(None, config, ids)
    V = config.num_classes
    # Windows in order, rows in the same positions: a stateful layer carries each row on.
    xw = to_windows(x, truncation).reshape(-1, truncation)
    yw = to_windows(y, truncation).reshape(-1, truncation)
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    inputs = keras.Input(batch_shape=(batch, truncation, V))
    outputs = keras.layers.Dense(V)(layer(units, return_sequences=True, stateful=True)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adagrad(0.3, initial_accumulator_value=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    one_hot = np.eye(V, dtype=np.float32)[xw]
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.fit(one_hot, yw, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        for l in model.layers:
            if hasattr(l, "reset_states"):
                l.reset_states()
        seconds.append(time.perf_counter() - started)
    return len(xw) * truncation / float(np.median(seconds[1:]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--truncation", type=int, default=50)
    parser.add_argument("--windows", type=int, default=30, help="windows per epoch")
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args(argv)
    B, U, T = args.batch, args.units, args.truncation
    with tempfile.TemporaryDirectory() as folder:
        data = corpus(folder, args.windows, B, T)
        print(f"Text task, {U} units, batch {B}, truncation {T}, {args.windows} windows per "
              f"epoch, TensorFlow {tf.__version__}, {os.cpu_count()} CPUs\n")
        print("| cell | rnnlab chars/s | Keras layer + fit(jit_compile) chars/s | rnnlab / Keras |")
        print("|---|---:|---:|---:|")
        for cell in ("lstm", "gru"):
            ours = bench_rnnlab(cell, U, B, T, data, folder)
            theirs = bench_keras(cell, U, B, T, data)
            print(f"| {cell} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x |", flush=True)
        if args.sweep:
            print("\nrnnlab LSTM, characters per second as the model grows:\n")
            print("| state size | truncation | chars/s |")
            print("|---:|---:|---:|")
            for units, truncation in ((64, T), (128, T), (256, T), (512, T),
                                      (U, 25), (U, 100)):
                sweep_data = corpus(folder, args.windows, B, truncation)
                rate = bench_rnnlab("lstm", units, B, truncation, sweep_data, folder)
                print(f"| {units} | {truncation} | {rate:,.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
