"""The Optuna study a sweep is (sweep.py): any number of workers, on any number of
machines, share it through one storage.

Each unit of the plan is a trial. Workers claim WAITING trials (Optuna's WAITING ->
RUNNING change locks the trial's row on a database server; SQLite has no row locks, so
there claims take turns through a lock file beside the database), beat a heartbeat
while they train, and store the unit's rows in the trial. A worker that dies stops
beating; after a grace period any worker marks its trial failed and enqueues the unit
again. Finished units are never trained twice.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import warnings

from rnnlab.errors import ConfigError, WriteError


def default_storage(out: str) -> str:
    return "sqlite:///" + os.path.abspath(os.path.join(out, "sweep.db"))


def open_study(storage_url: str, study_name: str, plan, heartbeat: int):
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
            reason = f"{err.__class__.__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            if any(full in reason for full in ("disk is full", "readonly database", "disk I/O")):
                raise WriteError(f"cannot write the sweep's study {storage_url}: {reason}") from None
            raise ConfigError(f"--storage {storage_url!r}: {reason}") from None
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


def unit_of(trial) -> int | None:
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
    live = {unit_of(t) for t in trials if t.state in
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
        unit = unit_of(trial)
        # Of a unit's live trials the lowest-numbered one trains it.
        earlier = [t for t in study.get_trials(deepcopy=False)
                   if unit_of(t) == unit and t.number != trial.number and
                   (t.state == TrialState.COMPLETE or
                    (t.state in (TrialState.RUNNING, TrialState.WAITING)
                     and t.number < trial.number))]
        if earlier:  # a duplicate: someone has it or will
            storage.set_trial_state_values(trial._trial_id, TrialState.PRUNED)
            continue
        return trial._trial_id, unit
    return None


def collect_rows(study, num_units: int) -> list:
    from optuna.trial import TrialState

    by_unit = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        by_unit.setdefault(unit_of(t), t.user_attrs["rows"])
    return [row for unit in range(num_units) for row in by_unit[unit]]
