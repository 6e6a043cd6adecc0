"""`rnnlab sweep`: train every point of a grid for several seeds, as an Optuna study that
any number of workers, on any number of machines, share.

The plan: grid points x seeds are members; members whose arrays have the same shapes
(config.shape_key) are cut into units of at most MAX_POPULATION, and a unit trains
as one population in one compiled program. Each unit is an Optuna trial. Workers claim
WAITING trials (Optuna's WAITING -> RUNNING change locks the trial's row on a database
server; SQLite has no row locks, so there claims take turns through a lock file beside
the database), beat a heartbeat while they train, and store the unit's rows in the
trial. A worker that dies stops beating; after a grace period any worker marks its trial
failed and enqueues the unit again. Finished units are never trained twice: a re-run only writes the results.
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import itertools
import json
import math
import os
import shutil
import threading
import time
import warnings
from dataclasses import dataclass

from rnnlab.config import NOT_SWEPT, TrainConfig, cli_fields, setting_type, shape_key
from rnnlab.errors import ConfigError
from rnnlab.run.runfiles import write_atomic
from rnnlab.settings import Settings, check_member, resolve

MAX_POPULATION = 256
SOLVED = 0.99  # accuracy that counts as solved, for "epochs to solve"
MAX_POINTS = 100_000      # grid points a sweep may hold (each is checked before training)
MAX_NETWORKS = 1_000_000  # points x seeds


@dataclass(frozen=True)
class Plan:
    """What a sweep trains: base settings, grid axes [(name, values)], seeds."""

    base: dict
    axes: tuple
    seeds: tuple

    def points(self) -> list:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, values))
                for values in itertools.product(*(values for _, values in self.axes))]

    def config(self, point: dict, seed: int) -> Settings:
        return resolve(TrainConfig(**{**self.base, **point, "seed": seed, "plot": "none",
                                      "out": os.devnull}))

    def units(self) -> list:
        """[(shape key, [(point index, seed), ...])], in a fixed order every worker shares."""
        groups: dict = {}
        for i, point in enumerate(self.points()):
            for seed in self.seeds:
                groups.setdefault(shape_key(self.config(point, seed).config), []).append((i, seed))
        units = []
        for members in groups.values():
            for start in range(0, len(members), MAX_POPULATION):
                units.append(members[start:start + MAX_POPULATION])
        return units

    def to_json(self) -> str:
        return json.dumps({"base": self.base, "axes": [[n, list(v)] for n, v in self.axes],
                           "seeds": list(self.seeds)}, sort_keys=True)


def parse_axis(text: str) -> tuple:
    """'echo_step=1:20' (inclusive range), 'state_size=4,8,16' or 'cell=lstm' -> (name, values)."""
    name, sep, spec = text.partition("=")
    name = name.strip().replace("-", "_")
    fields = {f.name: f for f, _ in cli_fields()}
    if not sep or not spec:
        raise ConfigError(f"--grid {text!r}: write NAME=A:B (a range) or NAME=A,B,C (a list)")
    if name not in fields or name in NOT_SWEPT:
        allowed = ", ".join(n for n in fields if n not in NOT_SWEPT)
        raise ConfigError(f"--grid {text!r}: {name!r} is not a setting a grid can vary "
                          f"({allowed})")
    kind = setting_type(fields[name])

    def value(token: str):
        try:
            return kind(token.strip())
        except ValueError:
            raise ConfigError(f"--grid {text!r}: {token.strip()!r} is not "
                              f"{'an integer' if kind is int else 'a number'}") from None

    if ":" in spec:
        low, _, high = spec.partition(":")
        if kind is not int:
            raise ConfigError(f"--grid {text!r}: a range A:B needs an integer setting; "
                              f"list the values instead (A,B,C)")
        low, high = value(low), value(high)
        if high < low:
            raise ConfigError(f"--grid {text!r}: the range {low}:{high} is empty")
        if high - low >= MAX_POINTS:
            raise ConfigError(f"--grid {text!r}: {high - low + 1:,} values; a sweep holds at "
                              f"most {MAX_POINTS:,} grid points")
        return name, tuple(range(low, high + 1))
    return name, tuple(value(token) for token in spec.split(","))


def make_plan(base: dict, grid: list, seeds: int, first_seed: int = 0) -> Plan:
    """The plan, every point checked (one line naming the first bad one) before TF loads."""
    axes = tuple(parse_axis(text) for text in grid)
    names = [name for name, _ in axes]
    if len(set(names)) != len(names):
        raise ConfigError(f"--grid names {', '.join(sorted({n for n in names if names.count(n) > 1}))} twice")
    if not axes:
        raise ConfigError("--grid is required, e.g. --grid echo_step=1:10 truncation=1:10")
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {seeds!r}")
    points = math.prod(len(values) for _, values in axes)
    if points > MAX_POINTS or points * seeds > MAX_NETWORKS:
        raise ConfigError(f"the sweep holds {points:,} grid points x {seeds:,} seeds; at most "
                          f"{MAX_POINTS:,} points and {MAX_NETWORKS:,} networks")
    if not (0 <= first_seed and first_seed + seeds <= 2**32):
        raise ConfigError(f"--seed {first_seed} with --seeds {seeds} goes past 2**32 - 1")
    plan = Plan(base, axes, tuple(range(first_seed, first_seed + seeds)))
    for point in plan.points():
        try:
            config = plan.config(point, first_seed)
        except ConfigError as err:
            where = " ".join(f"{k}={v}" for k, v in point.items())
            raise ConfigError(f"grid point {where}: {err}") from None
        check_member(config)
    return plan


def default_storage(out: str) -> str:
    return "sqlite:///" + os.path.abspath(os.path.join(out, "sweep.db"))


def open_study(storage_url: str, study_name: str, plan: Plan, heartbeat: int):
    """The Optuna study holding the sweep, created by the first worker; a study of the
    same name holding another plan is an error, never overwritten."""
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from sqlalchemy.exc import SQLAlchemyError

    engine = {"connect_args": {"timeout": 60}} if storage_url.startswith("sqlite") else {}
    for attempt in range(6):
        try:
            storage = optuna.storages.RDBStorage(
                storage_url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                grace_period=3 * heartbeat)
            study = optuna.create_study(study_name=study_name, storage=storage,
                                        load_if_exists=True)
            break
        except Exception as err:  # a bad URL, a server that does not answer, a missing driver
            # Workers starting together on an empty database race to create Optuna's
            # tables; the loser sees "duplicate key" and succeeds on a second try.
            if isinstance(err, SQLAlchemyError) and attempt < 5:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise ConfigError(f"--storage {storage_url!r}: {err.__class__.__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else ''}") from None
    stored = study.user_attrs.get("plan")
    if stored is None:
        study.set_user_attr("plan", plan.to_json())
    elif stored != plan.to_json():
        raise ConfigError(f"study {study_name!r} in {storage_url} holds another sweep; give this "
                          f"one another --study or --out")
    return study, storage


class Heartbeat:
    """Records that this worker is alive, every `interval` seconds, while a unit trains."""

    def __init__(self, storage, trial_id: int, interval: int):
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stop.wait(self.interval):
            self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        self.storage.record_heartbeat(self.trial_id)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def _unit_of(trial) -> int | None:
    return trial.system_attrs.get("fixed_params", {}).get("unit")


def finished_trial_error() -> type:
    """What Optuna raises when a finished trial is updated: UpdateFinishedTrialError in
    newer versions, a plain RuntimeError (which that one also is) in 4.0."""
    import optuna.exceptions

    return getattr(optuna.exceptions, "UpdateFinishedTrialError", RuntimeError)


@contextlib.contextmanager
def claims_in_turn(storage_url: str):
    """Hold this while claiming a trial. Optuna moves a trial from WAITING to RUNNING by
    reading it and then writing it; a server locks the row in between (SELECT ... FOR
    UPDATE), SQLite does not, so two workers could both read WAITING and both train the
    unit (seen: the second to finish found its trial already finished and failed). On
    SQLite the claims take turns through an flock on DATABASE.claims, which dies with
    its process."""
    from sqlalchemy.engine import make_url

    database = make_url(storage_url).database if storage_url.startswith("sqlite") else None
    if not database or database == ":memory:":
        yield
        return
    with open(database + ".claims", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def claim_unit(study, storage, num_units: int):
    """(trial_id, unit) of a unit this worker now owns; None when no unit is waiting.

    Units with no live trial (never enqueued, or their worker died) are enqueued first.
    Two workers starting together may enqueue a unit twice; the later copy is dropped
    when claimed, so a unit trains once.
    """
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    finished = finished_trial_error()
    fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    live = {_unit_of(t) for t in trials if t.state in
            (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)}
    for unit in range(num_units):
        if unit not in live:
            study.enqueue_trial({"unit": unit})
    for trial in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if not storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING):
                continue  # another worker was first
        except finished:  # another worker dropped it as a duplicate
            continue
        unit = _unit_of(trial)
        # Of a unit's live trials the lowest-numbered one trains it.
        earlier = [t for t in study.get_trials(deepcopy=False)
                   if _unit_of(t) == unit and t.number != trial.number and
                   (t.state == TrialState.COMPLETE or
                    (t.state in (TrialState.RUNNING, TrialState.WAITING)
                     and t.number < trial.number))]
        if earlier:  # a duplicate: someone has it or will
            storage.set_trial_state_values(trial._trial_id, TrialState.PRUNED)
            continue
        return trial._trial_id, unit
    return None


def train_unit(plan: Plan, members: list) -> list:
    """Rows of results.csv for one unit: one per (point, seed)."""
    from rnnlab.run.training import train_population

    points = plan.points()
    configs = [plan.config(points[i], seed) for i, seed in members]
    result = train_population(configs)
    rows = []
    for (i, seed), losses, accuracies in zip(members, result["loss"], result["accuracy"]):
        solved = [e + 1 for e, a in enumerate(accuracies) if a >= SOLVED]
        rows.append({**points[i], "seed": seed, "loss": float(losses[-1]),
                     "accuracy": float(accuracies[-1]),
                     "epochs_to_solve": solved[0] if solved else None})
    return rows


def run_worker(plan: Plan, out: str, storage_url: str | None = None,
               study_name: str = "rnnlab-sweep", heartbeat: int = 10, poll: float = 2.0,
               log=print) -> dict:
    """Take and train units until every unit of the plan is finished, then write
    results.csv and the heatmaps. Returns {"trained": units this worker trained, ...}."""
    from optuna.trial import TrialState

    finished = finished_trial_error()
    made = not os.path.exists(out)
    os.makedirs(out, exist_ok=True)
    storage_url = storage_url or default_storage(out)
    try:
        study, storage = open_study(storage_url, study_name, plan, heartbeat)
    except ConfigError:
        if made:  # a storage that cannot be opened leaves nothing behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    units = plan.units()
    log(f"Sweep: {len(plan.points())} points x {len(plan.seeds)} seeds = "
        f"{sum(len(u) for u in units)} networks in {len(units)} populations")
    trained = 0
    while True:
        complete = {_unit_of(t) for t in study.get_trials(deepcopy=False,
                                                         states=(TrialState.COMPLETE,))}
        if len(complete) >= len(units):
            break
        with claims_in_turn(storage_url):
            claimed = claim_unit(study, storage, len(units))
        if claimed is None:  # the rest is running elsewhere: wait, in case a worker dies
            time.sleep(poll)
            continue
        trial_id, unit = claimed
        members = units[unit]
        started = time.perf_counter()
        try:
            with Heartbeat(storage, trial_id, heartbeat):
                rows = train_unit(plan, members)
        except BaseException:
            with contextlib.suppress(finished):  # unless handed on already
                storage.set_trial_state_values(trial_id, TrialState.FAIL)  # enqueued again
            raise
        try:
            storage.set_trial_user_attr(trial_id, "rows", rows)
            storage.set_trial_state_values(trial_id, TrialState.COMPLETE,
                                           values=[sum(r["loss"] for r in rows) / len(rows)])
        except finished:  # presumed dead meanwhile: the unit was handed on
            log(f"unit {unit + 1}/{len(units)}: another worker took it over while this one "
                f"trained it (its heartbeat came too late); that worker's result will stand")
            continue
        trained += 1
        log(f"unit {unit + 1}/{len(units)}: {len(members)} networks trained together in "
            f"{time.perf_counter() - started:.1f} s ({len(complete) + 1} units finished)")
    rows = collect_rows(study, len(units))
    write_results(plan, rows, out)
    return {"trained": trained, "units": len(units), "rows": len(rows), "storage": storage_url}


def load_sweep(folder: str):
    """(plan, rows) of a finished sweep folder, from its sweep.json and results.csv."""
    with open(os.path.join(folder, "sweep.json")) as f:
        data = json.load(f)
    plan = Plan(data["base"], tuple((n, tuple(v)) for n, v in data["axes"]), tuple(data["seeds"]))
    with open(os.path.join(folder, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    # Back to the values the sweep wrote: the plan's own for the axes, numbers for the rest.
    typed = {name: {str(v): v for v in values} for name, values in plan.axes}
    for r in rows:
        for name, values in typed.items():
            r[name] = values[r[name]]
        r["accuracy"] = float(r["accuracy"])
    return plan, rows



def collect_rows(study, num_units: int) -> list:
    from optuna.trial import TrialState

    by_unit = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        by_unit.setdefault(_unit_of(t), t.user_attrs["rows"])
    return [row for unit in range(num_units) for row in by_unit[unit]]


def write_results(plan: Plan, rows: list, out: str) -> None:
    """results.csv (one row per point and seed, in grid order) and the heatmaps."""
    names = [name for name, _ in plan.axes]
    order = {tuple(p.values()): i for i, p in enumerate(plan.points())}
    rows = sorted(rows, key=lambda r: (order[tuple(r[n] for n in names)], r["seed"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, names + ["seed", "loss", "accuracy", "epochs_to_solve"],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(os.path.join(out, "results.csv"), buffer.getvalue())
    write_atomic(os.path.join(out, "sweep.json"), plan.to_json() + "\n")
    from rnnlab.look.heatmap import save_heatmaps

    save_heatmaps(plan, rows, out, SOLVED)
