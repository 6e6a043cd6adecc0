"""Characters per second of TBPTT training, hand-written backward (backprop.py) against
GradientTape through the tf.scan loop, side by side in one process.

    python benchmarks/backprop_speed.py [--cells lstm gru] [--truncations 25 50 100 200]
        [--deep] [--scaling] [--memory] [--eigen-flag] [--no-speed]
        [--units 256] [--batch 64] [--classes 65] [--chars 51200] [--repeats 5]

Both paths run the trainer's own compiled program (tbptt.compile_window_runner, Adagrad)
on random one-hot characters; one call trains about --chars characters (whole windows),
timed calls alternate between the paths, and chars/s = windows x batch x T / median
seconds of a call. "compile" is the first call's time (tracing, XLA, one run).

FLOPs per character, counted as dense products (what the model asks for, whatever the
implementation skips): forward 2 (I + U) G U per layer (I inputs: the classes for the
first layer, U for the others; G gates: 4 LSTM, 3 GRU, 1 vanilla) plus 2 U C for the
output layer; training is 3x forward (forward, input gradient, weight gradient):

    FLOP/char = 3 * (sum over layers of 2 (I + U) G U  +  2 U C)

LSTM, U = 256, C = 65: 2.07 M (1 layer), 5.22 M (2), 8.36 M (3); GRU: 1.58 M, 3.94 M,
6.30 M. The hand-written path gathers W_x's rows for one-hot inputs instead of
multiplying (13% fewer real FLOPs for one LSTM layer). GFLOP/s = chars/s x FLOP/char;
"peak" is a 2048^3 float32 matmul compiled by XLA in the same process.

--scaling: the hand-written path alone, all truncations' calls interleaved, cost per
character against the shortest T (the speed table's rows run one after another, so load
that comes and goes skews them). With --population P, for a population of P networks
(a sweep's; e.g. --population 64 --units 32 --classes 10 --batch 16).
--memory: peak resident memory (ru_maxrss) of a fresh process per row that imports
TensorFlow, compiles and trains; "growth" is over the same process before compiling.
--eigen-flag: rnnlab's --xla_cpu_multi_thread_eigen=false (rnnlab/_tf.py) against =true,
in alternating fresh processes (XLA_FLAGS is read when TensorFlow loads): hand-written
LSTM chars/s and the tutorial's seconds per epoch.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from rnnlab._tf import tf  # noqa: E402  (rnnlab's TF settings, as a user's run gets them)
from rnnlab.config import TrainConfig  # noqa: E402
from rnnlab.nn.model import RNN, init_params  # noqa: E402
from rnnlab.nn.optim import Adagrad  # noqa: E402
from rnnlab.run.tbptt import compile_window_runner  # noqa: E402
from rnnlab.run.training import train  # noqa: E402
from rnnlab.nn.cells import CELLS  # noqa: E402
from rnnlab.settings import checked  # noqa: E402

from measure import flop_per_char, matmul_peak  # noqa: E402  (benchmarks/measure.py)


def settings(cell, layers, units, batch, T, windows, classes, gradient):
    """The settings of a text run of `windows` windows on random characters."""
    return checked(TrainConfig(task="text", cell=cell, layers=layers, state_size=units,
                               batch_size=batch, truncation=T, gradient=gradient,
                               series_length=batch * T * windows, num_classes=classes,
                               num_inputs=classes, log_every=10**6, vocab="x" * classes,
                               data=os.devnull))


class Case:
    """One compiled window runner with its data: `call()` trains all its windows once."""

    def __init__(self, cell, layers, units, batch, classes, T, chars, autodiff, seed=0):
        n = max(1, round(chars / (batch * T)))
        self.chars = n * batch * T
        config = settings(cell, layers, units, batch, T, n, classes,
                          "autodiff" if autodiff else "tbptt")
        rng = np.random.RandomState(seed)
        params = init_params(rng, cell, layers, units, classes, classes, "glorot")
        self.model = RNN(params, cell)
        self.runner = compile_window_runner(self.model, Adagrad(self.model.params), config)
        self.x = tf.constant(rng.randint(0, classes, (n, batch, T)), tf.float32)
        self.y = tf.constant(rng.randint(0, classes, (n, batch, T)), tf.int32)
        self.state, self.n = self.model.zero_state(batch), n

    def call(self) -> float:
        started = time.perf_counter()
        self.runner(self.x, self.y, self.state, (), 0, self.n, -1, np.float32(0.3),
                    np.int64(0))[0].numpy()
        return time.perf_counter() - started


class PopulationCase(Case):
    """The same for a population of `members` networks (population.py), each with its
    own windows: chars counts every member's."""

    def __init__(self, cell, layers, units, batch, classes, T, chars, members, seed=0):
        from rnnlab.nn.population import PopulationRNN

        n = max(1, round(chars / (batch * T * members)))
        self.chars = n * batch * T * members
        config = settings(cell, layers, units, batch, T, n, classes, "tbptt")
        rng = np.random.RandomState(seed)
        self.model = PopulationRNN([init_params(rng, cell, layers, units, classes, classes,
                                                "glorot") for _ in range(members)], cell)
        self.runner = compile_window_runner(self.model, Adagrad(self.model.params), config,
                                            seeds=list(range(members)))
        self.x = tf.constant(rng.randint(0, classes, (n, members, batch, T)), tf.float32)
        self.y = tf.constant(rng.randint(0, classes, (n, members, batch, T)), tf.int32)
        self.rates = np.full(members, 0.3, np.float32)
        self.state, self.n = self.model.zero_state(batch), n

    def call(self) -> float:
        started = time.perf_counter()
        self.runner(self.x, self.y, self.state, (), 0, self.n, -1, self.rates,
                    np.int64(0))[0].numpy()
        return time.perf_counter() - started


def compare(cell, layers, T, args) -> dict:
    """Both paths on one shape: compile seconds and median chars/s, calls interleaved."""
    cases, compile_s = {}, {}
    for path in ("autodiff", "hand"):
        started = time.perf_counter()
        cases[path] = Case(cell, layers, args.units, args.batch, args.classes, T, args.chars,
                           autodiff=path == "autodiff")
        cases[path].call()
        compile_s[path] = time.perf_counter() - started
    seconds = {path: [] for path in cases}
    for _ in range(args.repeats):
        for path, case in cases.items():
            seconds[path].append(case.call())
    rate = {path: cases[path].chars / float(np.median(s)) for path, s in seconds.items()}
    return {"rate": rate, "compile": compile_s}


def speed_table(args):
    peak = matmul_peak()
    print(f"{args.units} units, batch {args.batch}, {args.classes} one-hot classes, Adagrad, "
          f"~{args.chars} chars per call, median of {args.repeats}; TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPUs, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; "
          f"float32 matmul peak (XLA, 2048^3): {peak:.0f} GFLOP/s; load average "
          f"{os.getloadavg()[0]:.1f} (a shared machine: read the ratios)\n")
    print("| cell | layers | T | MFLOP/char | autodiff chars/s | hand chars/s | hand GFLOP/s "
          "| hand / autodiff | compile s autodiff / hand |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    shapes = [(cell, 1, T) for cell in args.cells for T in args.truncations]
    if args.deep:
        shapes += [(cell, layers, T) for cell in args.cells for layers in (2, 3)
                   for T in (min(args.truncations), max(args.truncations))]
    for cell, layers, T in shapes:
        result = compare(cell, layers, T, args)
        flop = flop_per_char(cell, layers, args.units, args.classes)
        auto, hand = result["rate"]["autodiff"], result["rate"]["hand"]
        print(f"| {cell} | {layers} | {T} | {flop / 1e6:.2f} | {auto:,.0f} | {hand:,.0f} | "
              f"{hand * flop / 1e9:.0f} | {hand / auto:.2f}x | "
              f"{result['compile']['autodiff']:.1f} / {result['compile']['hand']:.1f} |",
              flush=True)


def scaling_table(args):
    """The hand-written path's cost per character as T grows, all truncations' calls
    interleaved in one process (so load on a shared machine hits them alike)."""
    print(f"\nHand-written path, cost per character against T={min(args.truncations)} "
          f"(calls interleaved across T, median of {args.repeats})\n")
    print("| cell | layers | " + " | ".join(f"T={T}" for T in args.truncations) + " |")
    print("|---|---:|" + "---:|" * len(args.truncations))
    for cell in args.cells:
        for layers in ((1, 2, 3) if args.deep else (1,)):
            if args.population:
                cases = {T: PopulationCase(cell, layers, args.units, args.batch, args.classes,
                                           T, args.chars, args.population)
                         for T in args.truncations}
            else:
                cases = {T: Case(cell, layers, args.units, args.batch, args.classes, T,
                                 args.chars, autodiff=False) for T in args.truncations}
            for case in cases.values():
                case.call()
            seconds = {T: [] for T in cases}
            for _ in range(args.repeats):
                for T, case in cases.items():
                    seconds[T].append(case.call())
            rate = {T: cases[T].chars / float(np.median(s)) for T, s in seconds.items()}
            first = rate[min(rate)]
            print(f"| {cell} | {layers} | " + " | ".join(
                f"{rate[T]:,.0f} chars/s, {first / rate[T]:.2f}x" for T in cases) + " |",
                flush=True)


def child(argv):
    """A fresh process's measurement, printed as one JSON line."""
    kind = argv[0]
    if kind == "memory":
        cell, layers, T, path, units, batch, classes, chars = argv[1:]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        case = Case(cell, int(layers), int(units), int(batch), int(classes), int(T),
                    int(chars), autodiff=path == "autodiff")
        ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(3):
            case.call()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"before": before, "ready": ready, "peak": peak}))
    elif kind == "lstm":
        T, units, batch, classes, chars = map(int, argv[1:])
        case = Case("lstm", 1, units, batch, classes, T, chars, autodiff=False)
        case.call()
        print(json.dumps({"rate": case.chars / float(np.median([case.call() for _ in range(5)]))}))
    elif kind == "tutorial":
        with tempfile.TemporaryDirectory() as folder:
            run = train(TrainConfig(epochs=4, seed=0, plot="none", out=folder + "/run"),
                        stdout=io.StringIO())
        print(json.dumps({"seconds": float(np.median(run.history.seconds[1:]))}))


def run_child(argv, env=None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child"] + [str(a) for a in argv],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_table(args):
    print("\nPeak resident memory (ru_maxrss, MB) of a fresh process training ~"
          f"{args.chars} chars per call; growth: over the process before compiling\n")
    print("| cell | T | autodiff peak | autodiff growth | hand peak | hand growth |")
    print("|---|---:|---:|---:|---:|---:|")
    for cell in args.cells:
        for T in (min(args.truncations), max(args.truncations)):
            row = {}
            for path in ("autodiff", "hand"):
                m = run_child(["memory", cell, 1, T, path, args.units, args.batch,
                               args.classes, args.chars])
                row[path] = (m["peak"] / 1024, (m["peak"] - m["ready"]) / 1024)
            print(f"| {cell} | {T} | {row['autodiff'][0]:.0f} | {row['autodiff'][1]:.0f} | "
                  f"{row['hand'][0]:.0f} | {row['hand'][1]:.0f} |", flush=True)


def eigen_flag_table(args, rounds: int = 3):
    print("\n--xla_cpu_multi_thread_eigen, fresh processes alternating, median of "
          f"{rounds}: hand-written LSTM chars/s ({args.units} units) and tutorial s/epoch\n")
    print("| flag | LSTM T=25 chars/s | LSTM T=200 chars/s | tutorial s/epoch |")
    print("|---|---:|---:|---:|")
    results = {flag: {"25": [], "200": [], "tutorial": []} for flag in ("false", "true")}
    for _ in range(rounds):
        for flag in results:
            env = {**os.environ, "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={flag}"}
            for T in ("25", "200"):
                results[flag][T].append(run_child(["lstm", T, args.units, args.batch,
                                                   args.classes, args.chars], env)["rate"])
            results[flag]["tutorial"].append(run_child(["tutorial"], env)["seconds"])
    for flag, r in results.items():
        print(f"| {flag} | {np.median(r['25']):,.0f} | {np.median(r['200']):,.0f} | "
              f"{np.median(r['tutorial']):.3f} |")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=[c for c, e in CELLS.items() if e.back])
    parser.add_argument("--truncations", nargs="+", type=int, default=[25, 50, 100, 200])
    parser.add_argument("--population", type=int, default=0, help="--scaling for a "
                        "population of this many networks (population.py) instead of one")
    parser.add_argument("--deep", action="store_true", help="also 2 and 3 layers at the "
                        "shortest and longest truncation")
    parser.add_argument("--scaling", action="store_true", help="the hand-written path's "
                        "cost per character against T, calls interleaved across T")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--eigen-flag", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed table")
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--classes", type=int, default=65)
    parser.add_argument("--chars", type=int, default=51200, help="characters per timed call")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.no_speed:
        speed_table(args)
    if args.scaling:
        scaling_table(args)
    if args.memory:
        memory_table(args)
    if args.eigen_flag:
        eigen_flag_table(args)


if __name__ == "__main__":
    sys.exit(main())
