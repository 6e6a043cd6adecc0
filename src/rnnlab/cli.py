"""The `rnnlab` command: parse, validate, call the library. TensorFlow is imported only
once a command has checked its arguments, so `--help` and typos answer at once."""
from __future__ import annotations

import argparse
import os
import sys

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
    train.add_argument("--force", action="store_true",
                       help="overwrite the run folder if it already holds a run")
    train.add_argument("--verbose", action="store_true", help="keep TensorFlow's log lines")
    train.set_defaults(func=cmd_train)
    return parser


def config_from_args(args) -> TrainConfig:
    given = {f.name: getattr(args, f.name) for f, _ in cli_fields()
             if getattr(args, f.name) is not None}
    return TrainConfig(**given)


def cmd_train(args) -> int:
    from rnnlab import runfiles

    config = config_from_args(args).resolved().validate()
    check_writable_parent(os.path.join(config.out, "config.json"), "--out")
    runfiles.check_run_dir(config.out, force=args.force)
    if config.gif is not None:
        check_writable_parent(config.gif, "--gif")

    from rnnlab.train import train

    run = train(config, force=args.force)
    print(f"Run written to {run.out_dir}")
    if run.live is not None:
        run.live.keep_open()
    return 0


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
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return 1
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
