"""The `rnnlab` command line: its flags (the training ones generated from TrainConfig)
and its entry point. The commands themselves are in commands.py. TensorFlow is imported
only once a command has checked its arguments, so `--help` and typos answer at once."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from rnnlab import process
from rnnlab.errors import (CheckpointError, ConfigError, RunDirError, TrainingDiverged,
                           TrainingInterrupted, UsageError, WriteError)


class Parser(argparse.ArgumentParser):
    """argparse's parser, but: a flag must be written whole (argparse would take --lr for
    --lr-decay, the only flag it begins), and an error is one line that names the
    command's own --help, with the flags meant where a flag is unknown."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # argparse prints usage and a traceback-free message; keep one line
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def unknown(self, extras: list):
        """The error for arguments this command does not take, each unknown flag with the
        flags it may have meant."""
        known = [o for action in self._actions for o in action.option_strings
                 if o.startswith("--")]
        hints = []
        for word in extras:
            if word.startswith("-"):
                meant = _meant(word.split("=")[0], known)
                hints += [f"{word.split('=')[0]}: did you mean {' or '.join(meant)}?"] if meant else []
        self.error(f"unrecognized arguments: {' '.join(extras)}"
                   + (f" ({'; '.join(hints)})" if hints else ""))


# Other tools' names for rnnlab's flags (PyTorch's word_language_model, Keras, char-rnn).
SYNONYMS = {"--lr": "--learning-rate", "--nhid": "--state-size", "--hidden-size": "--state-size",
            "--rnn-size": "--state-size", "--units": "--state-size", "--nlayers": "--layers",
            "--num-layers": "--layers", "--bptt": "--truncation", "--seq-length": "--truncation",
            "--emsize": "--embedding", "--batch": "--batch-size", "--model": "--cell"}


def _meant(word: str, known: list) -> list:
    """The flags an unknown flag may stand for: itself with dashes for underscores, what
    other tools call it, the flags it begins, those it is close to (difflib)."""
    import difflib

    dashed = "--" + word.lstrip("-").replace("_", "-")
    if dashed in known:
        return [dashed]
    synonym = [SYNONYMS[dashed]] if SYNONYMS.get(dashed) in known else []
    starting = synonym + [k for k in known if k.startswith(dashed)]
    close = difflib.get_close_matches(dashed, known, n=3, cutoff=0.7)
    return list(dict.fromkeys(starting + close))[:3]


def _number(kind):
    def parse(text):
        try:
            return kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    parse.__name__ = kind.__name__
    return parse


def add_config_flags(parser: argparse.ArgumentParser, own: dict | None = None) -> None:
    """One flag per TrainConfig field, its help and default taken from the field (or
    from `own`, {name: the command's own help}), and each task's own name for its lag
    (--copy-delay, ...), which sets echo_step."""
    from rnnlab import commands
    from rnnlab.config import cli_fields, setting_type

    for f, flag in cli_fields():
        kind = setting_type(f)
        if kind is bool:  # a switch: given, it is on
            parser.add_argument(flag, dest=f.name, default=None, action="store_const",
                                const=True, help=f.metadata["help"])
            continue
        choices = f.metadata.get("choices")
        default = "" if f.default is None else f" (default: {f.default})"
        parser.add_argument(flag, dest=f.name, default=None, choices=choices,
                            metavar="{" + ",".join(choices) + "}" if choices else f.name.upper(),
                            type=_number(kind) if kind is not str else str,
                            help=(own or {}).get(f.name, f"{f.metadata['help']}{default}"))
    for task, flag in commands.LAG_ALIASES.items():
        parser.add_argument(f"--{flag}", dest=flag.replace("-", "_"), type=_number(int),
                            metavar="STEPS", help=f"--task {task}: its {flag.replace('-', ' ')} "
                            f"(the same setting as --echo-step)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rnnlab")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    from rnnlab import commands  # NumPy and the task table: inside main's care for Ctrl-C

    parser = Parser(prog="rnnlab", description="Train recurrent networks with truncated "
                    "backpropagation through time, and see what they learn.")
    parser.add_argument("--verbose", action="store_true", help="keep TensorFlow's log lines")
    parser.add_argument("--version", action="version", version=f"rnnlab {_version()}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subcommands.required = True
    parser.commands = subcommands.choices  # name -> its parser

    train = subcommands.add_parser("train", help="train an RNN; by default the tutorial's "
                                   "(docs/tutorial.md)",
                                description="Train an RNN with truncated backprop; with no "
                                "flags, the tutorial's experiment exactly.")
    add_config_flags(train)
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue RUN_DIR from its newest checkpoint, with its settings "
                       "(--epochs may extend it)")
    train.add_argument("--force", action="store_true",
                       help="overwrite the run folder if it already holds a run")
    train.set_defaults(func=commands.cmd_train)

    ev = subcommands.add_parser("eval", help="loss and accuracy of a trained run on fresh data "
                                "(text and words runs: on a part of their file)")
    ev.add_argument("run_dir", metavar="RUN_DIR")
    ev.add_argument("--series-length", type=_number(int), help="bits (default: the run's)")
    ev.add_argument("--seed", type=_number(int), help="seed of the fresh data (default: drawn)")
    ev.add_argument("--split", choices=("train", "val", "test"),
                    help="text and words runs: the part of the file (default: test, where "
                    "the run holds one out)")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.set_defaults(func=commands.cmd_eval)

    pr = subcommands.add_parser("predict", help="predict a stream of bits, state carried along")
    pr.add_argument("run_dir", metavar="RUN_DIR")
    pr.add_argument("--bits", help="input bits, e.g. 0110101 (default: read from stdin)")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.set_defaults(func=commands.cmd_predict)

    ex = subcommands.add_parser("export", help="write a SavedModel: step(x, state)")
    ex.add_argument("run_dir", metavar="RUN_DIR")
    ex.add_argument("export_dir", metavar="DIR")
    ex.set_defaults(func=commands.cmd_export)

    sa = subcommands.add_parser("sample", help="write text with a --task text or words run")
    sa.add_argument("run_dir", metavar="RUN_DIR")
    sa.add_argument("--length", type=_number(int), default=200,
                    help="characters, or words (default: 200)")
    sa.add_argument("--temperature", type=_number(float), default=1.0,
                    help="softmax temperature: lower is safer, higher wilder (default: 1.0)")
    sa.add_argument("--prime", default="", help="text to start from (default: a random symbol)")
    sa.add_argument("--seed", type=_number(int), help="seed of the sampling (default: drawn)")
    sa.set_defaults(func=commands.cmd_sample)

    sw = subcommands.add_parser(
        "sweep", help="train every point of a grid for several seeds: results.csv, heatmaps",
        description="Train every point of --grid for --seeds seeds. Points whose arrays "
        "share shapes train together as one population. The sweep is an Optuna study: "
        "run the same command on several machines with one --storage and they share it.")
    add_config_flags(sw, own={"epochs": "epochs each network trains (default: 10)",
                              "out": "the sweep's folder (required): sweep.json, results.csv, "
                                     "heatmaps, the study's database"})
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
    sw.set_defaults(func=commands.cmd_sweep)

    rp = subcommands.add_parser("report", help="a Markdown page of finished sweeps, with their "
                                "heatmaps (the project's own is docs/results.md: make results)")
    rp.add_argument("sweep_dirs", metavar="SWEEP_DIR", nargs="+")
    rp.add_argument("--out", help="the page; its pictures go beside it "
                    "(default: report.md in the first SWEEP_DIR)")
    rp.set_defaults(func=commands.cmd_report)

    ins = subcommands.add_parser(
        "inspect", help="one self-contained HTML page of a run's units at work (or a sweep's "
        "heatmaps): RUN/inspect.html")
    ins.add_argument("run_dir", metavar="RUN_DIR", help="a run folder, or a sweep folder")
    ins.add_argument("--split", choices=("train", "val", "test"),
                     help="text and words runs: the part of the file shown (default: val, "
                     "where the run holds one out)")
    ins.add_argument("--length", type=_number(int), help="steps shown (default: 2000)")
    ins.add_argument("--seed", type=_number(int), default=0,
                     help="seed of the fresh data a synthetic task's page shows; a sweep "
                     "member's seed (default: 0)")
    ins.add_argument("--point", nargs="+", metavar="NAME=VALUE",
                     help="a sweep's grid point: its network (trained again into "
                     "SWEEP/members/) is the one inspected")
    ins.add_argument("--out", help="the page (default: inspect.html in the folder)")
    ins.add_argument("--newest", action="store_true", help="use the newest checkpoint, "
                     "not the best by validation loss")
    ins.set_defaults(func=commands.cmd_inspect)

    rs = subcommands.add_parser("runs", help="the runs in a folder, a line each: task, cell, "
                                "epochs, best validation loss, whether one trains now")
    rs.add_argument("folder", metavar="DIR", nargs="?", default="runs",
                    help="a folder of runs, or one run (default: runs)")
    rs.set_defaults(func=commands.cmd_runs)

    dg = subcommands.add_parser("diagnose", help="gradient reach by lag and memory curve of a run")
    dg.add_argument("run_dir", metavar="RUN_DIR")
    dg.add_argument("--max-lag", type=_number(int), help="lags 0..N (default: 3x truncation, at least 30)")
    dg.add_argument("--series-length", type=_number(int), default=20000,
                    help="steps of fresh data the probes read (default: 20000)")
    dg.add_argument("--seed", type=_number(int), default=0, help="seed of that data (default: 0)")
    dg.set_defaults(func=commands.cmd_diagnose)

    for sub in (ev, ex, sa):
        sub.add_argument("--newest", action="store_true", help="use the newest checkpoint, "
                         "not the best by validation loss (runs with a validation part)")
    for sub in (train, ev, pr, ex, sa, sw, rp, ins, rs, dg):
        sub.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="keep TensorFlow's log lines")
    return parser


def main(argv=None) -> int:
    """Run one command; what stops it is told in one line and an exit code (errors.py):
    2 bad input or run folder, 3 diverged, 4 out of disk or memory, 128 + N a signal."""
    argv = sys.argv[1:] if argv is None else argv
    terminate = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():  # outside training too,
        signal.signal(signal.SIGTERM, _terminated)  # a kill unwinds: no half-written files
    try:
        with process.prepared(draws=_draws(argv)):
            parser = build_parser()
            args, extras = parser.parse_known_args(argv)
            if extras:  # told by the command's own parser, which knows its flags
                parser.commands[args.command].unknown(extras)
            if args.verbose:
                os.environ["RNNLAB_VERBOSE"] = "1"
            return args.func(args)
    except process.OutputError as err:
        if err.closed:  # output piped into `head` and the like: stop quietly
            process.quiet_exit()
            return 128 + signal.SIGPIPE
        return _error(err, 4)
    except TrainingInterrupted as stop:
        if stop.signum == signal.SIGPIPE:  # the reader of the run's lines went away
            process.quiet_exit()
        print(f"rnnlab: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except (UsageError, ConfigError, RunDirError, CheckpointError) as err:
        return _error(err, 2)
    except TrainingDiverged as err:
        return _error(err, 3)
    except WriteError as err:
        return _error(err, 4)
    except MemoryError:
        return _error("out of memory; try smaller settings (--state-size, --series-length, "
                      "--batch-size)", 4)
    except ModuleNotFoundError as err:
        if err.name != "tensorflow":
            raise
        return _error(err.msg, 2)  # _tf.py's: how to install it
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        process.quiet_exit()
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM's Terminated
        return _stopped(stop)
    except Exception as err:
        signalled = _signal_within(err)
        if signalled is not None:  # a native module's init turned the signal into an error
            return _stopped(signalled)
        if not _out_of_memory(err):
            raise
        return _error(f"out of memory ({_first_line(err)}); try smaller settings", 4)
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, terminate)


DRAWING = {"train", "sweep", "report", "diagnose", "inspect"}


def _draws(argv: list) -> bool:
    """Whether the command asked for draws figures (its matplotlib needs a backend)."""
    return bool(DRAWING & set(argv))


class Terminated(KeyboardInterrupt):
    """SIGTERM outside training (training turns it into a checkpoint and a stop)."""


def _terminated(signum, frame):
    raise Terminated


def _error(err, code: int) -> int:
    print(f"rnnlab: error: {err}", file=sys.stderr)
    return code


def _stopped(stop: KeyboardInterrupt) -> int:
    """The one line and exit code of a signal that stopped a command outside training."""
    terminated = isinstance(stop, Terminated)
    print("rnnlab: terminated" if terminated else "rnnlab: interrupted", file=sys.stderr)
    return 128 + (signal.SIGTERM if terminated else signal.SIGINT)


def _signal_within(err: BaseException):
    """The KeyboardInterrupt (Ctrl-C, or SIGTERM's Terminated) that caused `err`, if any:
    a signal during an extension module's initialisation (TensorFlow's, as it loads)
    comes out as "ImportError: initialization failed" caused by it."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _first_line(err) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _out_of_memory(err: Exception) -> bool:
    """TensorFlow's ResourceExhaustedError from a computation (not a write: those are
    WriteErrors by now), without importing TensorFlow to ask."""
    tf_errors = sys.modules.get("tensorflow.python.framework.errors_impl")
    return tf_errors is not None and isinstance(err, tf_errors.ResourceExhaustedError)


if __name__ == "__main__":
    sys.exit(main())
