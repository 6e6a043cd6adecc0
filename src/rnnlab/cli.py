"""The `rnnlab` command: parse, validate, call the library. TensorFlow is imported only
once a command has checked its arguments, so `--help` and typos answer at once."""
from __future__ import annotations

import argparse
import json
import os
import sys

from rnnlab import runfiles
from rnnlab.config import ConfigError, TrainConfig, check_writable_parent, cli_fields
from rnnlab.runfiles import RunDirError


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage and a traceback-free message; keep one line
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _number(kind):
    def parse(text):
        try:
            return kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    parse.__name__ = kind.__name__
    return parse


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, its help and default taken from the field."""
    for f, flag in cli_fields():
        kind = {"int": int, "float": float, "Optional[int]": int}.get(str(f.type))
        choices = f.metadata.get("choices")
        default = "" if f.default is None else f" (default: {f.default})"
        parser.add_argument(flag, dest=f.name, default=None, choices=choices,
                            metavar="{" + ",".join(choices) + "}" if choices else f.name.upper(),
                            type=_number(kind) if kind else str,
                            help=f"{f.metadata['help']}{default}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rnnlab", description="Train recurrent networks with truncated "
                    "backpropagation through time, and see what they learn.")
    parser.add_argument("--verbose", action="store_true", help="keep TensorFlow's log lines")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    train = commands.add_parser("train", help="train the tutorial's echo RNN (SPEC.md defaults)",
                                description="Train an RNN with truncated backprop; with no "
                                "flags, the tutorial's experiment exactly.")
    add_config_flags(train)
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue RUN_DIR from its newest checkpoint, with its settings "
                       "(--epochs may extend it)")
    train.add_argument("--force", action="store_true",
                       help="overwrite the run folder if it already holds a run")
    train.set_defaults(func=cmd_train)

    ev = commands.add_parser("eval", help="loss and accuracy of a trained run on fresh data")
    ev.add_argument("run_dir", metavar="RUN_DIR")
    ev.add_argument("--series-length", type=_number(int), help="bits (default: the run's)")
    ev.add_argument("--seed", type=_number(int), help="seed of the fresh data (default: drawn)")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.set_defaults(func=cmd_eval)

    pr = commands.add_parser("predict", help="predict a stream of bits, state carried along")
    pr.add_argument("run_dir", metavar="RUN_DIR")
    pr.add_argument("--bits", help="input bits, e.g. 0110101 (default: read from stdin)")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.set_defaults(func=cmd_predict)

    ex = commands.add_parser("export", help="write a SavedModel: step(x, state)")
    ex.add_argument("run_dir", metavar="RUN_DIR")
    ex.add_argument("export_dir", metavar="DIR")
    ex.set_defaults(func=cmd_export)

    sa = commands.add_parser("sample", help="write text with a --task text run")
    sa.add_argument("run_dir", metavar="RUN_DIR")
    sa.add_argument("--length", type=_number(int), default=200, help="characters (default: 200)")
    sa.add_argument("--temperature", type=_number(float), default=1.0,
                    help="softmax temperature: lower is safer, higher wilder (default: 1.0)")
    sa.add_argument("--prime", default="", help="text to start from (default: a random character)")
    sa.add_argument("--seed", type=_number(int), help="seed of the sampling (default: drawn)")
    sa.set_defaults(func=cmd_sample)

    sw = commands.add_parser(
        "sweep", help="train every point of a grid for several seeds: results.csv, heatmaps",
        description="Train every point of --grid for --seeds seeds. Points whose arrays "
        "share shapes train together as one population. The sweep is an Optuna study: "
        "run the same command on several machines with one --storage and they share it.")
    add_config_flags(sw)
    sw.add_argument("--grid", nargs="+", action="extend", metavar="NAME=A:B|A,B,C",
                    help="a setting and its values: A:B is the inclusive range, A,B,C a "
                    "list; the first two axes are the heatmaps' axes, a third gives panels")
    sw.add_argument("--seeds", type=_number(int), default=1,
                    help="seeds per point: --seed, --seed + 1, ... (default: 1, from 0)")
    sw.add_argument("--storage", help="Optuna storage URL, e.g. postgresql://user@host/db "
                    "(default: sqlite:///OUT/sweep.db)")
    sw.add_argument("--study", default="rnnlab-sweep", help="Optuna study name (default: rnnlab-sweep)")
    sw.add_argument("--heartbeat", type=_number(int), default=10,
                    help="seconds between a worker's signs of life; one silent for 3x this "
                    "is presumed dead and its points are taken again (default: 10)")
    sw.set_defaults(func=cmd_sweep)

    rp = commands.add_parser("report", help="a Markdown page of a finished sweep (docs/results.md)")
    rp.add_argument("sweep_dirs", metavar="SWEEP_DIR", nargs="+")
    rp.add_argument("--out", default="docs/results.md", help="the page (default: docs/results.md)")
    rp.set_defaults(func=cmd_report)

    dg = commands.add_parser("diagnose", help="gradient reach by lag and memory curve of a run")
    dg.add_argument("run_dir", metavar="RUN_DIR")
    dg.add_argument("--max-lag", type=_number(int), help="lags 0..N (default: 3x truncation, at least 30)")
    dg.add_argument("--series-length", type=_number(int), default=20000,
                    help="steps of fresh data the probes read (default: 20000)")
    dg.add_argument("--seed", type=_number(int), default=0, help="seed of that data (default: 0)")
    dg.set_defaults(func=cmd_diagnose)

    for sub in (train, ev, pr, ex, sa, sw, rp, dg):
        sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="keep TensorFlow's log lines")
    return parser


def config_from_args(args) -> TrainConfig:
    return TrainConfig(**given_settings(args))


def given_settings(args) -> dict:
    return {f.name: getattr(args, f.name) for f, _ in cli_fields()
            if getattr(args, f.name) is not None}


# Settings a resumed run may change: they alter how long it runs or how it is shown and
# saved, never the numbers it computes.
RESUMABLE = ("epochs", "plot", "gif", "checkpoint_every")


def check_resume(args) -> TrainConfig:
    """The resumed run's config; a flag that contradicts it is an error."""
    if args.force:
        raise UsageError("--resume continues a run; it cannot be combined with --force")
    config = runfiles.read_config(args.resume)
    given = given_settings(args)
    if given.get("out") not in (None, args.resume, config.out):
        raise UsageError(f"--out {given['out']!r} contradicts --resume {args.resume!r}")
    given.pop("out", None)
    for name, value in given.items():
        if name not in RESUMABLE and value != getattr(config, name):
            raise UsageError(f"--{name.replace('_', '-')} {value} contradicts the run's "
                             f"config.json ({getattr(config, name)}); only "
                             f"{', '.join('--' + n.replace('_', '-') for n in RESUMABLE)} "
                             f"may change on --resume")
    return config.replace(**{k: v for k, v in given.items() if k in RESUMABLE}).validate()


def cmd_train(args) -> int:
    if args.resume:
        config = check_resume(args)
    else:
        config = config_from_args(args).resolved().validate()
        check_writable_parent(os.path.join(config.out, "config.json"), "--out")
        runfiles.check_run_dir(config.out, force=args.force)
    if config.gif is not None:
        check_writable_parent(config.gif, "--gif")

    from rnnlab.checkpoint import CheckpointError
    from rnnlab.tbptt import TrainingDiverged, TrainingInterrupted, resume, train

    try:
        if args.resume:
            run = resume(args.resume, epochs=config.epochs, plot=config.plot, gif=config.gif,
                         checkpoint_every=config.checkpoint_every)
        else:
            run = train(config, force=args.force)
    except TrainingInterrupted as stop:
        print(f"rnnlab: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except TrainingDiverged as err:
        print(f"rnnlab: error: {err}", file=sys.stderr)
        return 3
    except CheckpointError as err:
        print(f"rnnlab: error: {err}", file=sys.stderr)
        return 1
    print(f"Run written to {run.out_dir}")
    if run.live is not None:
        run.live.keep_open()
    return 0


def cmd_eval(args) -> int:
    config = runfiles.read_config(args.run_dir)
    if args.series_length is not None and config.task == "text":
        raise UsageError(f"run {args.run_dir!r} models the text of {config.data!r}; eval reads "
                         f"it all, so --series-length does not apply")
    if args.series_length is not None:
        config.replace(series_length=args.series_length).validate()
    if args.seed is not None:
        config.replace(seed=args.seed).validate()
    from rnnlab.inference import evaluate

    result = _with_checkpoint(lambda: evaluate(args.run_dir, args.series_length, args.seed))
    noun = {"adding": "sums", "text": "characters", "copy": "symbols"}.get(config.task, "bits")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['run']}: loss {result['loss']:.4f}, accuracy {result['accuracy']:.5f} "
              f"on {result['positions']} {noun} (seed {result['seed']}); accuracy on the "
              f"{result['predictable_positions']} predictable {noun} "
              f"{result['predictable_accuracy']:.5f}")
    return 0


def cmd_predict(args) -> int:
    config = runfiles.read_config(args.run_dir)
    if config.task not in ("echo", "dependency"):
        other = "rnnlab sample" if config.task == "text" else "rnnlab eval"
        raise UsageError(f"run {args.run_dir!r} is a --task {config.task} run; predict reads "
                         f"bits (echo and dependency runs); try {other}")
    text = args.bits if args.bits is not None else sys.stdin.read()
    from rnnlab.tasks import parse_bits

    try:
        bits = parse_bits(text)
    except ValueError as err:
        raise UsageError(f"{'--bits' if args.bits is not None else 'stdin'}: {err}") from None
    from rnnlab.inference import predict

    predicted, probability = _with_checkpoint(lambda: predict(args.run_dir, bits))
    if args.json:
        print(json.dumps([{"input": int(b), "predicted": int(p), "probability": float(q)}
                          for b, p, q in zip(bits, predicted, probability)]))
    else:
        print("position input predicted probability")
        print("\n".join(f"{t} {b} {p} {q:.6f}"
                        for t, (b, p, q) in enumerate(zip(bits, predicted, probability))))
    return 0


def cmd_sample(args) -> int:
    config = runfiles.read_config(args.run_dir)
    if config.task != "text":
        raise UsageError(f"run {args.run_dir!r} is a --task {config.task} run; sample needs a "
                         f"--task text run")
    if args.length < 1:
        raise UsageError(f"--length must be a positive integer, got {args.length}")
    if not 0 < args.temperature < float("inf"):
        raise UsageError(f"--temperature must be a positive number, got {args.temperature}")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be in [0, 2**32), got {args.seed}")
    from rnnlab.tasks import encode_text

    try:
        encode_text(args.prime, config.vocab)
    except ValueError as err:
        raise UsageError(f"--prime: {err}") from None
    from rnnlab.inference import sample

    print(_with_checkpoint(lambda: sample(args.run_dir, args.length, args.temperature,
                                          args.prime, args.seed)))
    return 0


def cmd_export(args) -> int:
    config = runfiles.read_config(args.run_dir)
    if os.path.exists(args.export_dir) and (not os.path.isdir(args.export_dir)
                                            or os.listdir(args.export_dir)):
        raise UsageError(f"export folder {args.export_dir!r} already exists and is not empty")
    check_writable_parent(os.path.join(args.export_dir, "saved_model.pb"), "export folder")
    from rnnlab.inference import export

    _with_checkpoint(lambda: export(args.run_dir, args.export_dir))
    if config.regression:
        print(f"SavedModel written to {args.export_dir}: step(x [batch, 2], state) -> "
              f"(prediction, state)")
    else:
        print(f"SavedModel written to {args.export_dir}: step(x [batch, 1], state) -> "
              f"(probabilities, state)")
    return 0


def cmd_sweep(args) -> int:
    base = given_settings(args)
    out = base.pop("out", None)
    if not out:
        raise UsageError("sweep needs --out DIR (every worker of one sweep names the same folder)")
    for name in ("plot", "gif", "checkpoint_every", "log_every"):
        if name in base:
            raise UsageError(f"--{name.replace('_', '-')} does not apply to a sweep")
    first_seed = base.pop("seed", 0)
    base.setdefault("epochs", 10)
    if args.heartbeat < 1:
        raise UsageError(f"--heartbeat must be a positive number of seconds, got {args.heartbeat}")
    from rnnlab.sweep import make_plan, run_worker

    plan = make_plan(base, args.grid or [], args.seeds, first_seed)
    check_writable_parent(os.path.join(out, "results.csv"), "--out")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out!r} is a file, not a folder")
    result = run_worker(plan, out, args.storage, args.study, args.heartbeat,
                        log=lambda line: print(line, flush=True))
    print(f"This worker trained {result['trained']} of {result['units']} populations; "
          f"results.csv ({result['rows']} rows), accuracy.png, epochs_to_solve.png in {out}")
    return 0


def cmd_report(args) -> int:
    from rnnlab.report import write_report

    for folder in args.sweep_dirs:
        if not os.path.isfile(os.path.join(folder, "results.csv")):
            raise UsageError(f"{folder!r} holds no finished sweep (no results.csv)")
    check_writable_parent(args.out, "--out")
    print(f"Report written to {write_report(args.sweep_dirs, args.out)}")
    return 0


def cmd_diagnose(args) -> int:
    config = runfiles.read_config(args.run_dir)
    if args.max_lag is not None and args.max_lag < 1:
        raise UsageError(f"--max-lag must be a positive integer, got {args.max_lag}")
    if args.series_length < 100:
        raise UsageError(f"--series-length must be at least 100, got {args.series_length}")
    if config.task == "text":
        raise UsageError("diagnose probes the synthetic tasks' inputs; a --task text run has "
                         "no fresh data to draw")
    from rnnlab.diagnose import diagnose

    paths = _with_checkpoint(lambda: diagnose(args.run_dir, args.max_lag, args.series_length,
                                              args.seed))
    print(f"Written: {', '.join(paths)}")
    return 0


def _with_checkpoint(action):
    from rnnlab.checkpoint import CheckpointError

    try:
        return action()
    except CheckpointError as err:
        raise UsageError(str(err)) from None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.verbose:
            os.environ["RNNLAB_VERBOSE"] = "1"
        return args.func(args)
    except (UsageError, ConfigError, RunDirError) as err:
        print(f"rnnlab: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if err.name != "tensorflow":
            raise
        print(f"rnnlab: error: {err.msg}", file=sys.stderr)  # _tf.py's: how to install it
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 1
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
