"""What each `rnnlab` command does: check what it was given (before TensorFlow loads,
where it can be), call the library, print the result. The flags are in cli.py."""
from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys

from rnnlab import settings
from rnnlab.config import (SHOWN_AND_SAVED, TrainConfig, check_utf8_path, check_writable_parent,
                           cli_fields, count)
from rnnlab.data.bits import read_bits
from rnnlab.data.tasks import TASKS
from rnnlab.errors import UsageError, require_tensorflow
from rnnlab.run import runfiles, writes
from rnnlab.settings import RESUMABLE, Settings


# A task's own name for what echo_step means to it, as a flag of its own.
LAG_ALIASES = {task.name: task.lag for task in TASKS.values()
               if task.lag and task.lag != "echo-step"}


def config_from_args(args) -> TrainConfig:
    return TrainConfig(**given_settings(args))


def given_settings(args) -> dict:
    """The settings given on the command line; a task's own name for its lag
    (--copy-delay, --episode-length) sets echo_step, and only for that task."""
    given = {f.name: getattr(args, f.name) for f, _ in cli_fields()
             if getattr(args, f.name) is not None}
    for task, flag in LAG_ALIASES.items():
        value = getattr(args, flag.replace("-", "_"), None)
        if value is None:
            continue
        if given.get("task") != task:
            raise UsageError(f"--{flag} is for --task {task}, not --task "
                             f"{given.get('task', 'echo')}")
        if given.setdefault("echo_step", value) != value:
            raise UsageError(f"--{flag} {value} contradicts --echo-step {given['echo_step']}")
    return given


def check_resume(args) -> Settings:
    """The resumed run's settings; a flag that contradicts them is an error."""
    if args.force:
        raise UsageError("--resume continues a run; it cannot be combined with --force")
    config = settings.stored(args.resume)
    given = given_settings(args)
    if given.get("out") not in (None, args.resume, config.out):
        raise UsageError(f"--out {given['out']!r} contradicts --resume {args.resume!r}")
    given.pop("out", None)
    changes = RESUMABLE + ("data",)  # the data file: the same one, moved (settings.with_data)
    for name, value in given.items():
        if name not in changes and value != getattr(config, name):
            raise UsageError(f"{config.flag_of(name)} {value} contradicts the run's "
                             f"config.json ({getattr(config, name)}); only "
                             f"{', '.join('--' + n.replace('_', '-') for n in RESUMABLE)} "
                             f"may change on --resume (and --data, for a file moved)")
    return settings.for_resume(args.resume, {k: v for k, v in given.items() if k in changes})


def cmd_train(args) -> int:
    """Hold the run folder before TensorFlow loads: a second process on it is told at
    once who has it. A resume holds it once its checkpoint has been read and found to
    fit (a refused resume leaves the folder as it was); until then, one already held is
    refused at once."""
    if args.resume:
        config = check_resume(args)
    else:
        config = settings.resolve(config_from_args(args), given=set(given_settings(args)))
        check_writable_parent(os.path.join(config.out, "config.json"), "--out")
        runfiles.check_run_dir(config.out, force=args.force)  # again once it is held
    if config.gif is not None:
        writes.check_target(config.gif, "--gif")
        writes.check_output_folder(os.path.dirname(os.path.abspath(config.gif)), "--gif folder")
    if args.resume:
        runfiles.check_free(args.resume)
    require_tensorflow()  # before a run folder is made
    from rnnlab.run.training import resume, train

    if args.resume:
        run = resume(config)
    else:
        with runfiles.exclusive(config.out, create=True):
            runfiles.check_run_dir(config.out, force=args.force)  # it may have changed
            run = train(config, force=args.force)
    print(f"Run written to {run.out_dir}")
    if run.live is not None:
        run.live.keep_open()
    return 0


def cmd_eval(args) -> int:
    config = settings.stored(args.run_dir)
    task = config.task
    for flag, value in (("--series-length", args.series_length), ("--seed", args.seed)):
        if value is not None and not task.synthetic:
            raise UsageError(f"run {args.run_dir!r} models the text of {config.data!r}; eval "
                             f"reads a part of it whole, so {flag} does not apply")
    if args.series_length is not None:
        settings.checked(config.config.replace(series_length=args.series_length))
    if args.seed is not None:
        config.replace(seed=args.seed).check_settings()
    if args.split is not None and task.synthetic:
        raise UsageError(f"run {args.run_dir!r} is a --task {task.name} run: it has no file "
                         f"to split; eval draws fresh data (--series-length, --seed)")
    fractions = {"val": config.val_fraction, "test": config.test_fraction}
    if args.split in fractions and not fractions[args.split]:
        raise UsageError(f"run {args.run_dir!r} holds no {args.split} part of its file "
                         f"(--{args.split}-fraction {fractions[args.split] or 0}); "
                         f"try --split train")
    from rnnlab.look.evaluate import evaluate

    result = evaluate(args.run_dir, args.series_length, args.seed, args.split, args.newest)
    if args.json:
        print(json.dumps(result, indent=2))
    elif "split" in result:
        print(f"{result['run']}: {result['split']} part, {result['positions']} {task.noun}: "
              f"loss {result['loss']:.4f} nats ({result['bits_per_symbol']:.4f} bits) per "
              f"{task.noun[:-1]}, perplexity {result['perplexity']:.2f}, accuracy "
              f"{result['accuracy']:.4f}")
    else:
        noun = task.noun
        print(f"{result['run']}: loss {result['loss']:.4f}, accuracy {result['accuracy']:.5f} "
              f"on {result['positions']} {noun} (seed {result['seed']}); accuracy on the "
              f"{result['predictable_positions']} predictable {noun} "
              f"{result['predictable_accuracy']:.5f}")
    return 0


def cmd_predict(args) -> int:
    """Any number of bits: read, predicted and printed a piece at a time."""
    config = settings.stored(args.run_dir)
    task = config.task
    if not task.reads_bits:
        other = "rnnlab sample" if task.writes_text else "rnnlab eval"
        raise UsageError(f"run {args.run_dir!r} is a --task {task.name} run; predict reads "
                         f"bits (echo and dependency runs); try {other}")
    source = "--bits" if args.bits is not None else "stdin"
    if args.bits is None and sys.stdin is not None and sys.stdin.isatty():
        print("rnnlab: reading bits from the terminal: type them, then Ctrl-D (or pass "
              "--bits 0110...)", file=sys.stderr)
    pieces = read_bits(args.bits if args.bits is not None else sys.stdin, source)
    first = next(pieces)  # a bad first piece is refused before TensorFlow loads
    from rnnlab.look.sample import predict_stream

    write = sys.stdout.write
    write("[" if args.json else "position input predicted probability")
    count = 0
    for bits, predicted, probability in predict_stream(args.run_dir, itertools.chain([first], pieces)):
        for b, p, q in zip(bits.tolist(), predicted.tolist(), probability.tolist()):
            if args.json:
                write((", " if count else "") + json.dumps(
                    {"input": b, "predicted": p, "probability": q}))
            else:
                write(f"\n{count} {b} {p} {q:.6f}")
            count += 1
    write("]\n" if args.json else "\n")
    return 0


def cmd_sample(args) -> int:
    config = settings.stored(args.run_dir)
    task = config.task
    if not task.writes_text:
        raise UsageError(f"run {args.run_dir!r} is a --task {task.name} run; sample needs a "
                         f"--task text or words run")
    if args.length < 1:
        raise UsageError(f"--length must be a positive integer, got {args.length}")
    if not 0 < args.temperature < float("inf"):
        raise UsageError(f"--temperature must be a positive number, got {args.temperature}")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be in [0, 2**32), got {args.seed}")
    from rnnlab.data.corpus import encode_text

    try:
        if not task.word_level:  # words the model does not know are <unk>'s
            encode_text(args.prime, config.vocab)
    except ValueError as err:
        raise UsageError(f"--prime: {err}") from None
    from rnnlab.look.sample import sample_stream

    for text in sample_stream(args.run_dir, args.length, args.temperature, args.prime,
                              args.seed, newest=args.newest):
        sys.stdout.write(text)
        sys.stdout.flush()
    print()
    return 0


def cmd_export(args) -> int:
    config = settings.stored(args.run_dir)
    check_utf8_path(args.export_dir, "export folder")
    if os.path.exists(args.export_dir) and not os.path.isdir(args.export_dir):
        raise UsageError(f"export folder {args.export_dir!r} exists and is not a folder")
    if os.path.isdir(args.export_dir) and os.listdir(args.export_dir):
        raise UsageError(f"export folder {args.export_dir!r} already exists and is not empty")
    writes.check_output_folder(os.path.dirname(os.path.abspath(args.export_dir)),
                               "export folder", named=args.export_dir)
    from rnnlab.look.export import export

    export(args.run_dir, args.export_dir, args.newest)
    if config.task.writes_text:
        print(f"SavedModel written to {args.export_dir}: generate(prime, length, temperature, "
              f"seed) -> text (its serving_default), symbols(symbols, state) and step(x, state); "
              f"its vocabulary in {os.path.join(args.export_dir, 'assets', 'vocabulary.txt')}")
    elif config.task.regression:
        print(f"SavedModel written to {args.export_dir}: step(x [batch, 2], state) -> "
              f"(prediction, state)")
    else:
        print(f"SavedModel written to {args.export_dir}: step(x [batch, 1], state) -> "
              f"(probabilities, state)")
    return 0


MAX_HEARTBEAT = 24 * 3600  # seconds; a worker silent for three of them is taken for dead


def cmd_sweep(args) -> int:
    base = given_settings(args)
    out = base.pop("out", None)
    if not out:
        raise UsageError("sweep needs --out DIR (every worker of one sweep names the same folder)")
    for name in SHOWN_AND_SAVED:
        if name in base:
            raise UsageError(f"--{name.replace('_', '-')} does not apply to a sweep")
    first_seed = base.pop("seed", 0)
    base.setdefault("epochs", 10)
    if not 1 <= args.heartbeat <= MAX_HEARTBEAT:
        raise UsageError(f"--heartbeat must be a number of seconds from 1 to {MAX_HEARTBEAT}, "
                         f"got {args.heartbeat}")
    check_utf8_path(out, "--out")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out!r} is a file, not a folder")
    check_writable_parent(os.path.join(out, "results.csv"), "--out")
    from rnnlab.sweep import make_plan, run_worker

    plan = make_plan(base, args.grid or [], args.seeds, first_seed)
    result = run_worker(plan, out, args.storage, args.study, args.heartbeat,
                        log=lambda line: print(line, flush=True))
    print(f"This worker trained {result['trained']} of "
          f"{count(result['units'], 'population')}; "
          f"results.csv ({result['rows']} rows), accuracy.png, epochs_to_solve.png in {out}")
    return 0


def cmd_report(args) -> int:
    for folder in args.sweep_dirs:
        for name in ("results.csv", "sweep.json"):
            if not os.path.isfile(os.path.join(folder, name)):
                raise UsageError(f"{folder!r} holds no finished sweep (no {name})")
    if args.out is None:
        args.out = os.path.join(args.sweep_dirs[0], "report.md")
    check_utf8_path(args.out, "--out")  # the page links its heatmaps by name
    writes.check_target(args.out, "--out")
    writes.check_output_folder(os.path.dirname(os.path.abspath(args.out)), "--out folder")
    from rnnlab.look.report import write_report
    from rnnlab.sweep import SOLVED, load_sweep

    sweeps = [(folder, *load_sweep(folder)) for folder in args.sweep_dirs]
    print(f"Report written to {write_report(sweeps, args.out, SOLVED)}")
    return 0


def cmd_inspect(args) -> int:
    """A run's page, a sweep's, or a sweep member's (trained again first): every
    setting checked before TensorFlow loads; the page written whole or not at all."""
    from rnnlab.look import inspect as page

    folder = args.run_dir
    if os.path.isfile(os.path.join(folder, "sweep.json")) and not os.path.isfile(
            os.path.join(folder, "config.json")):
        return _inspect_sweep(args, page)
    if args.point:
        raise UsageError("--point names a point of a sweep; RUN_DIR is not a sweep folder")
    config = settings.stored(folder)
    if not runfiles.has_checkpoint(folder):
        raise UsageError(f"run {folder!r} holds no checkpoint yet: nothing trained to inspect")
    page.check_request(args, config)
    require_tensorflow()
    path = page.inspect(folder, args.split, args.length, args.seed, args.out, args.newest)
    print(f"Page written to {path}")
    return 0


def _inspect_sweep(args, page) -> int:
    from rnnlab.sweep import SOLVED, load_sweep

    plan, rows = load_sweep(args.run_dir)
    if not args.point:
        out = args.out or os.path.join(args.run_dir, "inspect.html")
        writes.check_target(out, "--out")
        writes.check_output_folder(os.path.dirname(os.path.abspath(out)), "--out folder",
                                   named=out)
        print(f"Page written to {page.inspect_sweep(args.run_dir, plan, rows, SOLVED, out)}")
        return 0
    from rnnlab.sweep import member_settings

    member = member_settings(plan, args.run_dir, args.point, args.seed)
    page.check_request(args, member)
    require_tensorflow()
    if not runfiles.has_checkpoint(member.out):
        from rnnlab.run.training import train

        print(f"Training the sweep's network {os.path.basename(member.out)} again into "
              f"{member.out}", flush=True)
        with runfiles.exclusive(member.out, create=True):
            train(member, force=True, stdout=open(os.devnull, "w"))
    path = page.inspect(member.out, args.split, args.length, args.seed, args.out, args.newest)
    print(f"Page written to {path}")
    return 0


def cmd_runs(args) -> int:
    if not os.path.isdir(args.folder):
        raise UsageError(f"{args.folder!r} is not a folder of runs")
    from rnnlab.look.runs import table

    print(table(args.folder))
    return 0


MAX_LAG = 2000  # steps a diagnosis reaches back; its gradient unrolls that many steps


def cmd_diagnose(args) -> int:
    config = settings.stored(args.run_dir)
    if args.series_length < 100:
        raise UsageError(f"--series-length must be at least 100, got {args.series_length}")
    fresh = config.config.replace(series_length=args.series_length // config.batch_size
                                  * config.batch_size)
    settings.check_fits(dataclasses.replace(config, config=fresh))
    longest = min(MAX_LAG, args.series_length // 10)
    if args.max_lag is not None and args.max_lag < 1:
        raise UsageError(f"--max-lag must be a positive integer, got {args.max_lag}")
    if args.max_lag is not None and args.max_lag > longest:
        raise UsageError(f"--max-lag {args.max_lag} is too long: at most {longest} (a tenth "
                         f"of --series-length {args.series_length}, and {MAX_LAG} at most)")
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be in [0, 2**32), got {args.seed}")
    with runfiles.exclusive(args.run_dir):  # it writes diagnose.csv and .png there
        writes.check_output_folder(args.run_dir, "run folder")
        from rnnlab.look.diagnose import diagnose

        paths = diagnose(args.run_dir, args.max_lag, args.series_length, args.seed)
    print(f"Written: {', '.join(paths)}")
    return 0
