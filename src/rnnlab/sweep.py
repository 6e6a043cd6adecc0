"""`rnnlab sweep`: train every point of a grid for several seeds, as an Optuna study that
any number of workers, on any number of machines, share.

The plan: grid points x seeds are members; members whose arrays have the same shapes
(config.shape_key) are cut into units of at most MAX_POPULATION, and a unit trains
as one population in one compiled program. Each unit is a trial of the study
(study.py), which workers claim, train and store; finished units are never trained
twice: a re-run only writes the results.
"""
from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass

from rnnlab.config import NOT_SWEPT, TrainConfig, cli_fields, count, setting_type, shape_key
from rnnlab.errors import ConfigError, UsageError
from rnnlab.run.writes import write_atomic
from rnnlab.settings import SATURATED_UNITS, Settings, check_member, known_not_to_learn, resolve
from rnnlab.study import (Heartbeat, claim_unit, claims_in_turn, collect_rows, default_storage,
                          finished_trial_error, open_study, unit_of)

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
    first_unlearnable = None
    for point in plan.points():
        where = " ".join(f"{k}={v}" for k, v in point.items())
        try:
            config = plan.config(point, first_seed)
        except ConfigError as err:
            raise ConfigError(f"grid point {where}: {err}") from None
        check_member(config)
        if known_not_to_learn(config) and first_unlearnable is None:
            first_unlearnable = where
    if first_unlearnable:  # one line for the sweep, naming where it starts
        print(f"rnnlab: warning: --init tutorial is known not to learn from about "
              f"{SATURATED_UNITS} units (its weights, all positive, saturate the cell), as at "
              f"grid point {first_unlearnable}; --init glorot learns", file=sys.stderr)
    return plan


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
    log(f"Sweep: {count(len(plan.points()), 'point')} x {count(len(plan.seeds), 'seed')} = "
        f"{count(sum(len(u) for u in units), 'network')} in "
        f"{count(len(units), 'population')}")
    trained = 0
    while True:
        complete = {unit_of(t) for t in study.get_trials(deepcopy=False,
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
                                           values=[trial_value(rows)])
        except finished:  # presumed dead meanwhile: the unit was handed on
            log(f"population {unit + 1}/{len(units)}: another worker took it over while this one "
                f"trained it (its heartbeat came too late); that worker's result will stand")
            continue
        trained += 1
        log(f"population {unit + 1}/{len(units)}: {count(len(members), 'network')} trained "
            f"together in {time.perf_counter() - started:.1f} s "
            f"({len(complete) + 1} of {len(units)} finished)")
    rows = collect_rows(study, len(units))
    write_results(plan, rows, out)
    return {"trained": trained, "units": len(units), "rows": len(rows), "storage": storage_url}


def member_settings(plan: Plan, folder: str, given: list, seed: int) -> Settings:
    """The settings of one network of a sweep: its grid point, given as NAME=VALUE for
    every axis, and its seed; its run folder SWEEP/members/<point>-seed<S>."""
    point = dict(parse_axis(text) for text in given)
    names = [name for name, _ in plan.axes]
    if sorted(point) != sorted(names):
        raise ConfigError(f"--point must give every axis of the sweep, one value each: "
                          f"{' '.join(n + '=...' for n in names)}")
    for name, values in plan.axes:
        if len(point[name]) != 1 or point[name][0] not in values:
            raise ConfigError(f"--point {name}={','.join(map(str, point[name]))}: the sweep's "
                              f"values are {', '.join(map(str, values))}")
    if seed not in plan.seeds:
        raise ConfigError(f"--seed {seed}: the sweep's seeds are {plan.seeds[0]} to "
                          f"{plan.seeds[-1]}")
    chosen = {name: point[name][0] for name in names}
    where = "-".join(f"{n}{v}" for n, v in chosen.items()) + f"-seed{seed}"
    return resolve(TrainConfig(**{**plan.base, **chosen, "seed": seed, "plot": "none",
                                  "out": os.path.join(folder, "members", where)}))


def trial_value(rows: list) -> float:
    """The unit's mean final loss, as its trial's value: Optuna stores no NaN (a member
    whose loss diverged), so a unit with one is worth +inf."""
    mean = sum(r["loss"] for r in rows) / len(rows)
    return mean if math.isfinite(mean) else float("inf")


def load_sweep(folder: str):
    """(plan, rows) of a finished sweep folder, from its sweep.json and results.csv;
    UsageError naming the file and what is wrong with it (cut short, hand-edited)."""
    again = "its own rnnlab sweep command writes it again (nothing is trained twice)"
    path = os.path.join(folder, "sweep.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        plan = Plan(dict(data["base"]), tuple((str(n), tuple(v)) for n, v in data["axes"]),
                    tuple(int(s) for s in data["seeds"]))
        if not plan.axes or any(not values for _, values in plan.axes):
            raise ValueError("it names no grid")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise UsageError(f"{path} cannot be read ({_reason(err)}); {again}") from None
    path = os.path.join(folder, "results.csv")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []  # read here: an empty file has none to read later
            rows = list(reader)
        names = [name for name, _ in plan.axes]
        missing = [c for c in names + ["seed", "accuracy", "epochs_to_solve"]
                   if c not in fields]
        if missing:
            raise ValueError(f"it has no {missing[0]} column")
        # Back to the values the sweep wrote: the plan's own for the axes, numbers else.
        typed = {name: {str(v): v for v in values} for name, values in plan.axes}
        for line, r in enumerate(rows, start=2):
            for name, values in typed.items():
                if r[name] not in values:
                    raise ValueError(f"line {line}: {name} {r[name]!r} is not one of the sweep's")
            r.update({name: values[r[name]] for name, values in typed.items()})
            r["accuracy"] = float(r["accuracy"])
            r["epochs_to_solve"] = int(r["epochs_to_solve"]) if r["epochs_to_solve"] else None
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as err:
        raise UsageError(f"{path} cannot be read ({_reason(err)}); {again}") from None
    return plan, rows


def _reason(err: Exception) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0][:160] or type(err).__name__



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
