"""Whole `rnnlab train` runs with TensorFlow's CPU allocator as rnnlab sets it (BFC, which
keeps the memory it took and reuses it) against TensorFlow's default (every buffer from
malloc), interleaved and repeated: seconds per epoch after the first, whole-run seconds
and peak memory, with their ratios.

    python benchmarks/allocator.py [--repeats 3] [--epochs 3]

  tutorial     `rnnlab train --plot none`: the echo tutorial, 100 epochs of 5 x 4 products
  lstm 1x256   `rnnlab train --task text` on the first 300k characters of tiny Shakespeare,
  lstm 2x256   one or two 256-unit LSTM layers, T = 100, batch 64 (the time-to-quality
               benchmark's model is the second)

Why it matters: with malloc, a buffer of megabytes is a fresh mmap on every call and is
given back after it, so every window of a 256-unit LSTM faults its buffers in anew (the
profile of one window: 66 ms of zero-filling and gathers before the first step, 30 ms of
unmapping after the last, in 506 ms).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHAKESPEARE = os.path.join(HERE, "..", "data", "tinyshakespeare.txt")
ALLOCATORS = {"bfc (rnnlab's)": "true", "malloc (TensorFlow's default)": "false"}


def runs(text: str, epochs: int) -> dict:
    text_run = ["--task", "text", "--data", text, "--cell", "lstm", "--state-size", "256",
                "--truncation", "100", "--batch-size", "64", "--val-fraction", "0",
                "--test-fraction", "0", "--epochs", str(epochs)]
    return {"tutorial": [], "lstm 1x256": text_run + ["--layers", "1"],
            "lstm 2x256": text_run + ["--layers", "2"]}


def timed(args: list, out: str, use_bfc: str) -> tuple:
    """(whole seconds, epoch seconds after the first, peak resident MB) of one run."""
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": use_bfc, "RNNLAB_XLA_CACHE": "off"}
    command = [sys.executable, "-m", "rnnlab", "train", *args, "--plot", "none", "--seed", "0",
               "--force", "--out", out]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    whole = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    with open(os.path.join(out, "epochs.csv")) as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return whole, seconds[1:], usage.ru_maxrss / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="of the LSTM runs")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        text = os.path.join(folder, "shakespeare-head.txt")
        with open(SHAKESPEARE, encoding="utf-8") as f, open(text, "w", encoding="utf-8") as g:
            g.write(f.read()[:300_000])
        for _ in range(args.repeats):  # interleaved: the machine's noise falls on both
            for name, run_args in runs(text, args.epochs).items():
                for allocator, use_bfc in ALLOCATORS.items():
                    whole, epochs, peak = timed(run_args, os.path.join(folder, "run"), use_bfc)
                    got = results.setdefault((name, allocator), ([], [], []))
                    got[0].append(whole), got[1].extend(epochs), got[2].append(peak)
    print(f"{args.repeats} interleaved repeats; medians. Ratios: malloc's time over BFC's "
          "(above 1: BFC faster), BFC's peak memory over malloc's.\n")
    print("| run | allocator | seconds per epoch | whole run, s | peak memory, MB |")
    print("|---|---|---:|---:|---:|")
    for name in runs(text, args.epochs):
        medians = {a: [statistics.median(v) for v in results[(name, a)]] for a in ALLOCATORS}
        for allocator, (whole, epoch, peak) in medians.items():
            print(f"| {name} | {allocator} | {epoch:.3f} | {whole:.1f} | {peak:.0f} |")
        (bw, be, bp), (mw, me, mp) = medians.values()
        print(f"| {name} | ratio | {me / be:.2f}x | {mw / bw:.2f}x | {bp / mp:.2f}x |")


if __name__ == "__main__":
    main()
