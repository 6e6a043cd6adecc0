"""This checkout's rnnlab against another checkout's (a commit before a change), whole
`rnnlab train` runs side by side, interleaved, in fresh processes: the per-epoch
seconds each writes to epochs.csv (the first epoch, which compiles, left out) and the
whole command's wall time.

    git worktree add /tmp/before COMMIT
    python benchmarks/versus.py /tmp/before [--repeats 3]

Each case runs once per checkout per repeat, alternating, with XLA's compile cache off,
so both pay the same compiling. Ratios > 1: this checkout is faster. The machine is
shared and noisy: read the ratio and the spread, measured in the same minutes.
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

CASES = {
    "tutorial, 30 epochs": ["--epochs", "30", "--seed", "0"],
    "lstm 256, T=25, text": ["--task", "text", "--cell", "lstm", "--state-size", "256",
                             "--truncation", "25", "--batch-size", "64", "--epochs", "3",
                             "--seed", "0", "--val-fraction", "0", "--test-fraction", "0"],
    "gru 2x128, T=100, adam, dropout": [
        "--task", "text", "--cell", "gru", "--layers", "2", "--state-size", "128",
        "--truncation", "100", "--batch-size", "32", "--epochs", "3", "--seed", "0",
        "--optimizer", "adam", "--dropout", "0.2", "--val-fraction", "0.05",
        "--test-fraction", "0"],
}


TEXT_CHARS = 330_000  # of tiny Shakespeare, the text cases' file: a few seconds an epoch


def run_once(checkout: str, args: list, folder: str, text: str) -> tuple:
    """(median seconds of epochs after the first, the command's wall seconds)."""
    env = {**os.environ, "PYTHONPATH": os.path.join(checkout, "src"), "RNNLAB_XLA_CACHE": "off",
           "MPLBACKEND": "Agg"}
    data = ["--data", text] if "text" in args else []
    command = [sys.executable, "-m", "rnnlab", "train", *args, *data, "--plot", "none",
               "--out", folder]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: {' '.join(command)}\n{done.stderr}")
    with open(os.path.join(folder, "epochs.csv")) as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return statistics.median(seconds[1:]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("other", help="the other checkout (its src/rnnlab is imported)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    checkouts = {"this": os.path.join(HERE, ".."), "other": args.other}
    print("| case | this: s/epoch | other: s/epoch | other / this | this: whole s | "
          "other: whole s |\n|---|---:|---:|---:|---:|---:|")
    for case in args.cases:
        results = {name: [] for name in checkouts}
        with tempfile.TemporaryDirectory() as tmp:
            text = os.path.join(tmp, "text.txt")
            with open(SHAKESPEARE, encoding="utf-8") as f, open(text, "w", encoding="utf-8") as out:
                out.write(f.read(TEXT_CHARS))
            for repeat in range(args.repeats):
                for name, checkout in checkouts.items():
                    folder = os.path.join(tmp, f"{name}-{repeat}")
                    results[name].append(run_once(checkout, CASES[case], folder, text))
        epoch = {n: statistics.median(e for e, _ in r) for n, r in results.items()}
        whole = {n: statistics.median(w for _, w in r) for n, r in results.items()}
        spread = {n: f"{min(e for e, _ in r):.4g}-{max(e for e, _ in r):.4g}"
                  for n, r in results.items()}
        print(f"| {case} | {epoch['this']:.4g} ({spread['this']}) | {epoch['other']:.4g} "
              f"({spread['other']}) | {epoch['other'] / epoch['this']:.2f}x | "
              f"{whole['this']:.1f} | {whole['other']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
