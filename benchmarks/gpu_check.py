"""Does rnnlab run on an NVIDIA GPU, unchanged, and how fast? One call, on a GPU machine:

    python benchmarks/gpu_check.py [--venv /tmp/rnnlab-gpu] [--python PY] [--minutes 1]

It makes a throwaway virtual environment with TensorFlow's GPU build (`pip install
'.[gpu]'`, i.e. tensorflow[and-cuda]) and PyTorch (its default CUDA wheel), unless
--python names one that has them, then:

1. the tutorial's experiment, `rnnlab train --plot none --seed 0` (100 epochs): exit
   code, every line it wrote to stderr (a user must get no wall of start-up lines), the
   whole run's seconds, the device TensorFlow placed it on, and its per-window losses
   against the same run on the CPU (CUDA_VISIBLE_DEVICES=""), which must agree to
   float32 rounding (the GPU's kernels sum in another order);
2. the 2x256 LSTM on tiny Shakespeare for --minutes each: benchmarks/shakespeare.py's
   rnnlab, Keras (cuDNN's LSTM: Keras picks it for these settings on a GPU) and PyTorch
   (cuDNN through nn.LSTM), its table of validation loss and characters per second.

Without a GPU it says so and stops (exit 1): there is nothing to check.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_venv(folder: str) -> str:
    python = os.path.join(folder, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", folder], check=True)
        pip = [python, "-m", "pip", "install", "--quiet"]
        subprocess.run(pip + ["-e", f"{ROOT}[gpu]"], check=True)
        subprocess.run(pip + ["torch"], check=True)
    return python


def losses(run: str) -> list:
    with open(os.path.join(run, "metrics.csv")) as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def tutorial(python: str, folder: str) -> None:
    rnnlab = [python, "-m", "rnnlab", "train", "--plot", "none", "--seed", "0", "--force"]
    runs = {}
    for device, visible in (("gpu", None), ("cpu", "")):
        env = dict(os.environ)
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        started = time.perf_counter()
        done = subprocess.run(rnnlab + ["--out", os.path.join(folder, device)], env=env,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        runs[device] = losses(os.path.join(folder, device)) if done.returncode == 0 else []
        print(f"tutorial on the {device}: exit {done.returncode}, {seconds:.1f} s whole run, "
              f"{len(done.stderr.splitlines())} lines on stderr")
        for line in done.stderr.splitlines()[:20]:
            print(f"    stderr: {line}")
    if runs["gpu"] and len(runs["gpu"]) == len(runs["cpu"]):
        worst = max(abs(g - c) / max(abs(c), 1e-12) for g, c in zip(runs["gpu"], runs["cpu"]))
        print(f"per-window losses, GPU against CPU: largest relative difference {worst:.1e} "
              f"over {len(runs['cpu'])} windows ({'agree' if worst < 1e-3 else 'DIFFER'})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=os.path.join(tempfile.gettempdir(), "rnnlab-gpu"))
    parser.add_argument("--python", help="a Python that has TensorFlow's GPU build and torch")
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args(argv)
    python = args.python or make_venv(args.venv)
    found = subprocess.run([python, "-c", "import tensorflow as tf; "
                            "print(len(tf.config.list_physical_devices('GPU')))"],
                           capture_output=True, text=True)
    gpus = int(found.stdout.strip() or 0) if found.returncode == 0 else 0
    print(f"TensorFlow sees {gpus} GPU(s)")
    if not gpus:
        print(found.stderr.strip().splitlines()[-1] if found.stderr.strip() else "no GPU here")
        return 1
    with tempfile.TemporaryDirectory() as folder:
        tutorial(python, folder)
    done = subprocess.run([python, os.path.join(HERE, "shakespeare.py"), "--minutes",
                           str(args.minutes), "--frameworks", "rnnlab", "keras", "torch"])
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
