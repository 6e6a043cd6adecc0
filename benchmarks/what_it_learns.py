"""What truncation lets a vanilla RNN learn, and what the tutorial's initialisation does.

    python benchmarks/what_it_learns.py [--epochs 6] [--seeds 3]

1. The dependency task (R2RT): final-epoch cross-entropy for truncation styles
   TBPTT(k1, k2) (`--stride k1 --truncation k2`), beside the known plateaus of a model
   that learns neither dependency, only the 3-step one, or both.
2. The echo task: epochs until training accuracy passes 0.99, with the tutorial's
   uniform [0, 1) weights against Glorot's, over several seeds.
"""
from __future__ import annotations

import argparse
import io
import tempfile

import numpy as np

from rnnlab.config import TrainConfig
from rnnlab.data.series import dependency_baselines
from rnnlab.run.training import train

STYLES = [(2, 2), (5, 5), (10, 10), (20, 20), (1, 5), (2, 10), (5, 20)]  # (k1, k2)


def run(folder, **settings):
    config = TrainConfig(out=f"{folder}/{abs(hash(tuple(sorted(settings.items()))))}",
                         plot="none", **settings)
    return train(config, force=True, stdout=io.StringIO()).history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    b = dependency_baselines()
    with tempfile.TemporaryDirectory() as folder:
        print(f"Dependency task, vanilla cell, 8 units, {args.epochs} epochs of 50000 steps, "
              f"seeds 0..{args.seeds - 1}. Plateaus: neither {b['neither']:.3f}, the 3-step "
              f"dependency {b['first']:.3f}, both {b['both']:.3f}.\n")
        print("| k1 (stride) | k2 (truncation) | final loss, mean (min..max) | nearest plateau |")
        print("|---:|---:|---:|---|")
        for k1, k2 in STYLES:
            losses = [run(folder, task="dependency", truncation=k2, stride=k1, state_size=8,
                          epochs=args.epochs, seed=s).epoch_loss[-1] for s in range(args.seeds)]
            mean = float(np.mean(losses))
            learned = ("neither" if mean > (b["neither"] + b["first"]) / 2 else
                       "the 3-step one" if mean > (b["first"] + b["both"]) / 2 else "both")
            print(f"| {k1} | {k2} | {mean:.3f} ({min(losses):.3f}..{max(losses):.3f}) | "
                  f"{learned} |", flush=True)

        print(f"\nEcho task (the tutorial's settings), epochs until training accuracy > 0.99 "
              f"(of {args.epochs + 4}; '-' never):\n")
        print("| init | " + " | ".join(f"seed {s}" for s in range(args.seeds * 2)) + " |")
        print("|---|" + "---:|" * (args.seeds * 2))
        for init in ("tutorial", "glorot"):
            cells = []
            for s in range(args.seeds * 2):
                acc = run(folder, init=init, epochs=args.epochs + 4, seed=s).epoch_accuracy
                hit = np.nonzero(acc > 0.99)[0]
                cells.append(str(hit[0] + 1) if len(hit) else "-")
            print(f"| {init} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
