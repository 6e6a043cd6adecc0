"""From what a user asks to the settings a run uses, checked once.

A TrainConfig (config.py) says what was asked: flags, a Python call, a run's config.json.
`resolve` makes a new run's Settings from it (what the user left open filled in, every
setting checked: its own bounds, how the settings fit together, what its task and cell
allow, the memory it needs); `checked` does the checking alone, for a complete config
read back from a run folder. After that the run only reads its Settings: nothing
downstream checks a setting again. All of it happens before TensorFlow loads.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass

from rnnlab.config import (HELD_OUT, MEMBER_SETTINGS, SHOWN_AND_SAVED, TrainConfig,
                           check_utf8_path, flag, shape_key)
from rnnlab.data.corpus import check_unchanged, read_data
from rnnlab.data.tasks import TASKS, Task
from rnnlab.errors import CheckpointError, ConfigError, RunDirError
from rnnlab.nn.cells import CELLS, Cell
from rnnlab.nn.gradients import GRADIENTS, Gradient


@dataclass(frozen=True)
class Settings:
    """A run's settings, complete and checked: the config that config.json records, and
    the entries of the tables it names. The config's fields and properties read through
    (`settings.truncation`, `settings.num_windows`); `task`, `cell` and `gradient` are
    the table entries, not their names (`settings.cell.name`)."""

    config: TrainConfig
    task: Task
    cell: Cell
    gradient: Gradient
    absent: frozenset = frozenset()  # settings config.json did not hold (their defaults stand)

    def __getattr__(self, name):
        if name.startswith("__"):  # copy and pickle probe before `config` is set
            raise AttributeError(name)
        return getattr(self.config, name)


def resolve(config: TrainConfig, given=()) -> Settings:
    """The settings of a new run: the initial weights' kind, what the task fixes (for
    text, its file's characters and length), the held-out parts of a text, a drawn seed
    and the run folder filled in where the user left them open; then every setting
    checked. ConfigError names the first that cannot work. `given`: the names of the
    settings the user gave (the command line's), each of them set even at its default."""
    config.check_settings()
    task = TASKS[config.task]
    _check_meaningful(config, task, filled=False, given=given)
    if config.init is None:
        cell = CELLS[config.cell]
        config = config.replace(init="tutorial" if task.tutorial and cell.tutorial else
                                "glorot" if cell.scan else task.init)
    if not task.synthetic:  # a new text run holds parts out (an old one's config says none)
        config = config.replace(val_fraction=_or(config.val_fraction, HELD_OUT),
                                test_fraction=_or(config.test_fraction, HELD_OUT))
    if config.vocab is None:  # a resumed or loaded config has its own
        text = None
        if not task.synthetic:
            if not config.data:
                raise ConfigError(f"--task {config.task} needs --data FILE (a UTF-8 text file)")
            # Where the file is, whatever folder a later command runs in, and which bytes
            # it held: a run goes on only with the text it began with.
            text, found = read_data(config.data)
            config = config.replace(data=os.path.abspath(config.data), **found)
        config = config.replace(**task.settings(config, text))
    return _settings_of(config.with_run_defaults())


def checked(config: TrainConfig) -> Settings:
    """The Settings of a complete config (one read from a run's config.json, or changed
    from a run's): every setting checked, the task's and the cell's rules and the memory
    included."""
    return _settings_of(config.check_settings())


def stored(run_dir: str) -> Settings:
    """The settings of an existing run, from its config.json (the one place that reads
    it), every setting checked as strictly as the command line's; RunDirError says what
    is missing or wrong in config.json."""
    check_utf8_path(run_dir, "run folder")
    path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir):
        raise RunDirError(f"run folder {run_dir!r} does not exist")
    if not os.path.isfile(path):
        raise RunDirError(f"{run_dir!r} is not a run folder: it has no config.json")
    try:
        with open(path, "rb") as f:
            text = f.read(1_000_000).decode("utf-8")
        settings = checked(TrainConfig.from_json(text))
        held = set(json.loads(text))
        return dataclasses.replace(settings, absent=frozenset(
            f.name for f in dataclasses.fields(TrainConfig) if f.name not in held))
    except (OSError, ValueError, TypeError) as err:  # JSON, UTF-8 and settings errors
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        what = "a setting that cannot work" if isinstance(err, ConfigError) else "no readable config"
        raise RunDirError(f"{path} holds {what}: {reason}") from None


# Settings a resumed run may change with its flags: how long it runs, how it is shown and
# saved, and the learning rate it goes on with (fine-tuning). Its data file may move.
RESUMABLE = ("epochs", "learning_rate", "patience", "plot", "gif", "checkpoint_every",
             "log_every", "quiet")
# What a checkpoint's settings may differ in from config.json's without anything being
# wrong: where the run and its data are, how it is shown and saved.
PLACES = ("out", "data") + SHOWN_AND_SAVED


def check_against_checkpoint(settings: Settings, trained_with: str, run_dir: str,
                             reading: bool = False) -> None:
    """CheckpointError unless config.json (`settings`) holds the settings the checkpoint
    was trained with (`trained_with`, their JSON; empty for checkpoints from before they
    were kept), but for PLACES; `reading` (eval, sample, export, diagnose), but for the
    RESUMABLE ones too, which a later resume may have changed. Names every difference:
    a hand-edited config.json would otherwise go on as another run."""
    if not trained_with:
        return
    exempt = set(PLACES) | (set(RESUMABLE) if reading else set())
    then = json.loads(trained_with)
    differ = []
    for name, value in then.items():
        now = getattr(settings.config, name, value)
        if name in exempt:
            continue
        if name in settings.absent:  # even where its default is the value: a deleted key
            differ.append(f"it lacks {name} ({value!r} in the checkpoint)")
        elif not (now == value or {now, value} <= {None, 0}):  # None, 0: none
            differ.append(f"{name} is {getattr(settings.config, name)!r} there, {value!r} in "
                          f"the checkpoint")
    if differ:
        flags = ", ".join("--" + flag(n) for n in RESUMABLE[:3])
        raise CheckpointError(f"{os.path.join(run_dir, 'config.json')} is not what the run "
                              f"was trained with: {'; '.join(differ)}; put it back (a resume "
                              f"may change {flags} with its flags)")


def for_resume(run_dir: str, changes: dict) -> Settings:
    """The settings a resumed run continues with: its config.json's, with `changes` to
    RESUMABLE settings (others are not passed here: the command line refuses them), and
    for a text run its data file checked (with_data)."""
    settings = stored(run_dir)
    changes = {k: v for k, v in changes.items() if v is not None}
    data = changes.pop("data", None)
    if changes or settings.out != run_dir:
        settings = checked(settings.config.replace(**changes, out=run_dir))
    return with_data(settings, data)


def with_data(settings: Settings, data: str | None = None) -> Settings:
    """A text or words run's settings with its data file found and checked: at the path
    config.json records, or at `data` (the same file, moved), holding the bytes the run
    began with. ConfigError (a TextError) otherwise, naming what to do."""
    if settings.task.synthetic:
        if data is not None:
            raise ConfigError(f"--data does not apply to a --task {settings.task.name} run")
        return settings
    path = data or settings.data
    if not os.path.exists(path):
        raise ConfigError(f"{settings.data!r}, the text this run trained on, is not there "
                          f"(moved or deleted?); name its new place with --data FILE")
    _, found = read_data(path)
    check_unchanged(settings.config.replace(data=path), found)
    if data is None:
        return settings
    return checked(settings.config.replace(data=os.path.abspath(path)))


def _settings_of(config: TrainConfig) -> Settings:
    """Settings of a config whose every setting is of its kind and within its bounds:
    how they fit together, with each other, the task, the cell and the memory here."""
    config.check_together()
    task, cell, gradient = TASKS[config.task], CELLS[config.cell], GRADIENTS[config.gradient]
    task.check(config)
    _check_meaningful(config, task, filled=True)
    if cell.scan and config.init != "glorot":
        raise ConfigError(f"--init {config.init} is for the step-by-step cells; --cell "
                          f"{cell.name} starts from its paper's initialisation (--init glorot)")
    settings = Settings(config, task, cell, gradient)
    gradient.check(settings)
    check_fits(settings)
    return settings


def _check_meaningful(config: TrainConfig, task: Task, filled: bool, given=()) -> None:
    """One rule for every setting a task has no use for (task.ignores): it may not be set
    (given, or away from its default). ConfigError names it and the tasks it is for.
    `filled`: the task has filled in what it fixes itself (a text's series length),
    which is then no longer the user's."""
    defaults = TrainConfig()
    fixed = set(task.fixes) if filled else set()
    for name in task.ignores():
        if name in fixed or (name not in given
                             and getattr(config, name) == getattr(defaults, name)):
            continue
        users = [t.name for t in TASKS.values() if name not in t.ignores()]
        why = task.note.get(name) or DEFAULT_NOTES.get(name, "")
        raise ConfigError(f"{config.flag_of(name)} does not apply to --task {task.name}"
                          f"{' (' + why + ')' if why else ''}; it is for --task "
                          f"{_or_list(users)}")


DEFAULT_NOTES = {"val_fraction": "it draws fresh data; rnnlab eval measures on it",
                 "test_fraction": "it draws fresh data; rnnlab eval measures on it",
                 "embedding": "its inputs are not symbols",
                 "layout": "its rows are drawn apart already"}


def _or_list(names: list) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _or(value, default):
    return default if value is None else value


# Settings measured not to learn: the tutorial's weights, uniform in [0, 1) and so all
# positive, saturate every cell once it has this many units (echo task, 10 epochs, 4
# seeds each: accuracy 0.50 for the vanilla cell from 6 units, LSTM from 6, GRU from 8;
# `rnnlab sweep --grid state_size=2,4,6,8,12,16 init=tutorial,glorot --seeds 4`).
SATURATED_UNITS = 8


def known_not_to_learn(settings: Settings) -> list:
    """Lines warning of settings known not to learn, for the user to reconsider."""
    if settings.init == "tutorial" and settings.state_size >= SATURATED_UNITS:
        return [f"--init tutorial with {settings.state_size} units is known not to learn: "
                f"its weights, all positive, saturate the cell from about "
                f"{SATURATED_UNITS} units (accuracy stays at chance); --init glorot learns"]
    return []


def check_member(settings: Settings) -> None:
    """ConfigError unless `settings` can be a population member (so a sweep point)."""
    if not (settings.cell.population and settings.task.synthetic):
        cells = ", ".join(c.name for c in CELLS.values() if c.population)
        raise ConfigError(f"sweeps train the from-scratch cells ({cells}) on the synthetic "
                          f"tasks; got --cell {settings.cell.name} --task {settings.task.name}")


def check_population(members: list) -> Settings:
    """The shared settings of a population, or ValueError naming what differs."""
    first = members[0]
    check_member(first)
    for m in members[1:]:
        if shape_key(m.config) != shape_key(first.config):
            differ = [k for k, v in shape_key(m.config) if dict(shape_key(first.config)).get(k) != v]
            raise ValueError(f"members differ in {', '.join(differ)}; only "
                             f"{', '.join(MEMBER_SETTINGS)} may")
    return first


def memory_needed(settings: Settings) -> dict:
    """Roughly how many bytes a run of `settings` holds at once, by what holds them (in
    closed form: no loop over a number a user gave)."""
    cell, units, layers = settings.cell, settings.state_size, settings.layers
    inputs = settings.embedding or settings.num_inputs
    embedding = settings.num_inputs * settings.embedding if settings.embedding else 0
    params = cell.weights(inputs, units) + (layers - 1) * cell.weights(units, units)
    params += (units + 1) * settings.num_classes
    overlap = settings.truncation / settings.step_size  # windows overlap with --stride
    per_weight = 8 + 4 * 4  # drawn in float64; weights, optimizer slots, gradients, temporaries
    return {
        "the embedding": embedding * per_weight,
        "the model": params * per_weight,
        # the series (int64), its windows and the compiled program's copy of them
        "an epoch's data": int(settings.series_length * (16 + 24 * overlap)
                               * (2 if settings.num_inputs > 1 else 1)),
        "a window's activations": settings.truncation * settings.batch_size * layers
                                  * units * settings.cell.floats_per_step * 4 * 3,
        "the loss history": settings.epochs * settings.num_windows * 8,
        "the gradient's influence": settings.gradient.memory(settings),
    }


HINTS = {"the embedding": "--embedding", "the model": "--state-size or --layers",
         "an epoch's data": "--series-length",
         "a window's activations": "--truncation, --batch-size, --state-size or --layers",
         "the loss history": "--epochs",
         "the gradient's influence": "--state-size (or --batch-size)"}


def memory_available() -> int | None:
    """This machine's memory in bytes, or its container's share if smaller (None: unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                limit = f.read().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
    return total


def check_fits(settings: Settings) -> None:
    """ConfigError when a run of `settings` would need more memory than this machine
    has, naming what would take the most, before anything is allocated or written."""
    available = memory_available()
    needed = memory_needed(settings)
    total = sum(needed.values())
    if available is None or total <= available:
        return
    biggest = max(needed, key=needed.get)
    raise ConfigError(f"these settings need about {total / 2**30:,.1f} GiB of memory, more "
                      f"than the {available / 2**30:,.1f} GiB here ({biggest}: "
                      f"{needed[biggest] / 2**30:,.1f} GiB); try a smaller {HINTS[biggest]}")
