"""From what a user asks to the settings a run uses, checked once.

A TrainConfig (config.py) says what was asked: flags, a Python call, a run's config.json.
`resolve` makes a new run's Settings from it (what the user left open filled in, every
setting checked: its own bounds, how the settings fit together, what its task and cell
allow, the memory it needs); `checked` does the checking alone, for a complete config
read back from a run folder. After that the run only reads its Settings: nothing
downstream checks a setting again. All of it happens before TensorFlow loads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from rnnlab.config import HELD_OUT, MEMBER_SETTINGS, TrainConfig, flag, shape_key
from rnnlab.data.corpus import read_text
from rnnlab.data.tasks import TASKS, Task
from rnnlab.errors import ConfigError, RunDirError
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

    def __getattr__(self, name):
        if name.startswith("__"):  # copy and pickle probe before `config` is set
            raise AttributeError(name)
        return getattr(self.config, name)


def resolve(config: TrainConfig) -> Settings:
    """The settings of a new run: the initial weights' kind, what the task fixes (for
    text, its file's characters and length), the held-out parts of a text, a drawn seed
    and the run folder filled in where the user left them open; then every setting
    checked. ConfigError names the first that cannot work."""
    config.check_settings()
    task = TASKS[config.task]
    if config.init is None:
        tutorial = task.tutorial and CELLS[config.cell].tutorial
        config = config.replace(init="tutorial" if tutorial else "glorot")
    if not task.synthetic:  # a new text run holds parts out (an old one's config says none)
        config = config.replace(val_fraction=_or(config.val_fraction, HELD_OUT),
                                test_fraction=_or(config.test_fraction, HELD_OUT))
    if config.vocab is None:  # a resumed or loaded config has its own
        text = None
        if not task.synthetic:
            if not config.data:
                raise ConfigError(f"--task {config.task} needs --data FILE (a UTF-8 text file)")
            text = read_text(config.data)
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
    path = os.path.join(run_dir, "config.json")
    if not os.path.isdir(run_dir):
        raise RunDirError(f"run folder {run_dir!r} does not exist")
    if not os.path.isfile(path):
        raise RunDirError(f"{run_dir!r} is not a run folder: it has no config.json")
    try:
        with open(path, "rb") as f:
            text = f.read(1_000_000).decode("utf-8")
        return checked(TrainConfig.from_json(text))
    except (OSError, ValueError, TypeError) as err:  # JSON, UTF-8 and settings errors
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        what = "a setting that cannot work" if isinstance(err, ConfigError) else "no readable config"
        raise RunDirError(f"{path} holds {what}: {reason}") from None


# Settings a resumed run may change: they alter how long it runs or how it is shown and
# saved, never the numbers it computes.
RESUMABLE = ("epochs", "plot", "gif", "checkpoint_every")


def for_resume(run_dir: str, changes: dict) -> Settings:
    """The settings a resumed run continues with: its config.json's, with `changes` to
    RESUMABLE settings (others are not passed here: the command line refuses them)."""
    settings = stored(run_dir)
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes and settings.out == run_dir:
        return settings
    return checked(settings.config.replace(**changes, out=run_dir))


def _settings_of(config: TrainConfig) -> Settings:
    """Settings of a config whose every setting is of its kind and within its bounds:
    how they fit together, with each other, the task, the cell and the memory here."""
    config.check_together()
    task, cell, gradient = TASKS[config.task], CELLS[config.cell], GRADIENTS[config.gradient]
    task.check(config)
    _check_task_flags(config, task)
    settings = Settings(config, task, cell, gradient)
    check_fits(settings)
    return settings


def _check_task_flags(config: TrainConfig, task: Task) -> None:
    """Held-out parts, embeddings and vocabulary sizes where a task can have them."""
    for name in ("val_fraction", "test_fraction"):
        if getattr(config, name) is not None and task.synthetic:
            raise ConfigError(f"--{flag(name)} is for --task text or words (the other tasks "
                              f"draw fresh data: rnnlab eval measures on it)")
    if config.embedding is not None and task.inputs != "symbols":
        raise ConfigError(f"--embedding is for tasks whose inputs are symbols (text, words, "
                          f"copy), not --task {config.task}")
    if config.max_vocab is not None and not task.word_level:
        raise ConfigError("--max-vocab is for --task words")


def _or(value, default):
    return default if value is None else value


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
    """Roughly how many bytes a run of `settings` holds at once, by what holds them."""
    gates, units, layers = settings.cell.gates, settings.state_size, settings.layers
    inputs = settings.embedding or settings.num_inputs
    params = settings.num_inputs * settings.embedding if settings.embedding else 0
    params += (inputs + units + 2) * gates * units                  # the first layer
    params += (layers - 1) * (2 * units + 2) * gates * units        # the layers above it
    params += (units + 1) * settings.num_classes
    overlap = settings.truncation / settings.step_size  # windows overlap with --stride
    return {
        # drawn in float64; weights, optimizer slots, gradients, an update's temporaries
        "the model": params * (8 + 4 * 4),
        # the series (int64), its windows and the compiled program's copy of them
        "an epoch's data": int(settings.series_length * (16 + 24 * overlap)
                               * (2 if settings.num_inputs > 1 else 1)),
        "a window's activations": settings.truncation * settings.batch_size * layers
                                  * units * settings.cell.floats_per_step * 4 * 3,
        "the loss history": settings.epochs * settings.num_windows * 8,
    }


HINTS = {"the model": "--state-size or --layers", "an epoch's data": "--series-length",
         "a window's activations": "--truncation or --batch-size",
         "the loss history": "--epochs"}


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
