"""Many seeds at once: the tutorial's configuration for 5 epochs, 1 seed against 64
seeds trained as one population, side by side in one process. Bar: 64 seeds take at
most 4x the time of one.

    python benchmarks/population.py [--epochs 5] [--seeds 64] [--repeats 2]

Each sweep is timed whole as `rnnlab sweep` runs it in-process (plan, Optuna study in a
fresh SQLite file, data, compile, training, results.csv, both heatmaps); the TensorFlow
import (~3 s) is paid once before and is in neither. For scale, one `rnnlab train` of
the same configuration (hand-written BPTT, console, metrics, checkpoints, no figure),
and what the seeds would cost trained one after another.
"""
from __future__ import annotations

import argparse
import io
import os
import tempfile
import time

os.environ.setdefault("MPLBACKEND", "Agg")

from rnnlab._tf import tf  # noqa: E402,F401  (imported before any timing)
from rnnlab.config import TrainConfig  # noqa: E402
from rnnlab.sweep import make_plan, run_worker  # noqa: E402
from rnnlab.run.training import train  # noqa: E402


def time_sweep(seeds: int, epochs: int) -> float:
    plan = make_plan({"epochs": epochs}, ["echo_step=3"], seeds)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        run_worker(plan, out, log=lambda line: None)
        return time.perf_counter() - started


def time_single_train(epochs: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        train(TrainConfig(epochs=epochs, seed=0, plot="none", out=os.path.join(out, "run")),
              stdout=io.StringIO())
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    one, many, single = [], [], []
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both
        one.append(time_sweep(1, args.epochs))
        many.append(time_sweep(args.seeds, args.epochs))
        single.append(time_single_train(args.epochs))
    one_s, many_s, single_s = min(one), min(many), min(single)
    print(f"tutorial configuration, {args.epochs} epochs, best of {args.repeats}:")
    print(f"  rnnlab sweep, 1 seed              {one_s:7.2f} s")
    print(f"  rnnlab sweep, {args.seeds} seeds (one population) {many_s:7.2f} s   "
          f"{many_s / one_s:.2f}x one seed (bar: 4x)")
    print(f"  rnnlab train, 1 seed              {single_s:7.2f} s")
    print(f"  {args.seeds} x rnnlab train one after another ~{args.seeds * single_s:7.1f} s   "
          f"{args.seeds * single_s / many_s:.1f}x the population")


if __name__ == "__main__":
    main()
