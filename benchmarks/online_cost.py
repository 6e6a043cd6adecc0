"""What each gradient algorithm costs a step, against the number of units: TBPTT
(hand-written), RTRL, SnAp-1 and UORO, side by side in one process, calls interleaved.

    python benchmarks/online_cost.py [--cell vanilla] [--units 4 8 16 32 64] [--repeats 5]

Each case is the trainer's own compiled program (run/tbptt.py) training windows of 10
steps of the echo task, batch 8; the time is per step (a window's steps), the median of
the repeats after a first call that compiles. Memory is what the algorithm carries from
window to window, per row of the batch (its influence tensor, from the algorithm's own
shapes), besides the state. The growth is the slope of log time (and log memory) against
log units between the two largest sizes: RTRL's papers give n^4 time and n^3 memory, SnAp-1
and UORO n^2 and n^2. The machine is shared and noisy: read ratios and slopes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from rnnlab._tf import tf  # noqa: E402  (rnnlab's TF settings, as a user's run gets them)
from rnnlab.config import TrainConfig  # noqa: E402
from rnnlab.nn.model import model_for  # noqa: E402
from rnnlab.nn.optim import make_optimizer  # noqa: E402
from rnnlab.run.tbptt import compile_window_runner  # noqa: E402
from rnnlab.settings import resolve  # noqa: E402

ALGORITHMS = ("tbptt", "rtrl", "snap1", "uoro")
T, BATCH, WINDOWS = 10, 8, 20


class Case:
    def __init__(self, gradient: str, cell: str, units: int):
        self.settings = resolve(TrainConfig(
            gradient=gradient, cell=cell, state_size=units, truncation=T, batch_size=BATCH,
            init="glorot", series_length=BATCH * T * WINDOWS, seed=0, out=os.devnull,
            plot="none", log_every=10**6))
        rng = np.random.RandomState(0)
        self.model = model_for(self.settings, rng)
        optimizer = make_optimizer(self.settings.optimizer, self.model.params)
        self.run = compile_window_runner(self.model, optimizer, self.settings)
        self.x = tf.constant(rng.randint(0, 2, (WINDOWS, BATCH, T)), tf.float32)
        self.y = tf.constant(rng.randint(0, 2, (WINDOWS, BATCH, T)), tf.int32)
        self.state = self.model.zero_state(BATCH)
        self.carried = self.settings.gradient.start(self.model, BATCH)
        self.call()  # compiles

    def call(self) -> float:
        started = time.perf_counter()
        self.run(self.x, self.y, self.state, self.carried, 0, WINDOWS, -1, np.float32(0.01),
                 np.int64(0))[0].numpy()
        return (time.perf_counter() - started) / (WINDOWS * T)

    def carried_floats(self) -> int:
        return sum(int(np.prod(c.shape[1:])) for c in self.carried)


def slope(x, y) -> float:
    return float(np.log(y[-1] / y[-2]) / np.log(x[-1] / x[-2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", default="vanilla", choices=("vanilla", "lstm", "gru"))
    parser.add_argument("--units", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = {(g, u): Case(g, args.cell, u) for u in args.units for g in ALGORITHMS}
    seconds = {key: [] for key in cases}
    for _ in range(args.repeats):
        for key, case in cases.items():
            seconds[key].append(case.call())
    print(f"{args.cell} cell, echo task, windows of {T} steps, batch {BATCH}, "
          f"TensorFlow {tf.__version__}; microseconds a step (median of {args.repeats}), and "
          f"what is carried besides the state, floats a row\n")
    header = ["algorithm"] + [f"{u} units" for u in args.units] + ["time grows as", "memory grows as"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for g in ALGORITHMS:
        times = [statistics.median(seconds[(g, u)]) for u in args.units]
        floats = [cases[(g, u)].carried_floats() for u in args.units]
        cells = [f"{t * 1e6:,.0f} us, {f:,}" for t, f in zip(times, floats)]
        memory = f"n^{slope(args.units, floats):.1f}" if floats[-1] else "none"
        print(f"| {g} | " + " | ".join(cells) + f" | n^{slope(args.units, times):.1f} | {memory} |")


if __name__ == "__main__":
    main()
