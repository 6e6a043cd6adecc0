"""From what a user asks to the settings a run uses: the config (config.py) and what its
task fixes and forbids (tasks.py), put together and checked before TensorFlow loads."""
from __future__ import annotations

import os

from rnnlab.config import GATES, HELD_OUT, POPULATION_CELLS, ConfigError, TrainConfig, base_cell
from rnnlab.corpus import read_text
from rnnlab.tasks import TASKS, check_held_out


def prepare(config: TrainConfig) -> TrainConfig:
    """The config a new run uses: what the user left open filled in (the initial
    weights' kind, what the task fixes, for text its file's characters and length, a
    drawn seed, the run folder), every setting checked: ConfigError names the first
    that cannot work."""
    config.check_settings()
    check_held_out(config)
    task = TASKS[config.task]
    if config.init is None:
        config = config.replace(init=task.default_init(config.cell))
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
    config = check(config.with_run_defaults())
    check_fits(config)
    return config


def check(config: TrainConfig) -> TrainConfig:
    """Every setting of a complete config (a new run's, or one read from config.json)
    checked, the task's own rules included."""
    config.validate()
    TASKS[config.task].check(config)
    check_held_out(config)
    return config


def _or(value, default):
    return default if value is None else value


def check_member(config: TrainConfig) -> None:
    """ConfigError unless `config` can be a population member (so a sweep point)."""
    if config.cell not in POPULATION_CELLS or not TASKS[config.task].synthetic:
        raise ConfigError(f"sweeps train the from-scratch cells ({', '.join(POPULATION_CELLS)}) "
                          f"on the synthetic tasks; got --cell {config.cell} --task {config.task}")


def memory_needed(config: TrainConfig) -> dict:
    """Roughly how many bytes a run of `config` holds at once, by what holds them."""
    gates, units = GATES[base_cell(config.cell)], config.state_size
    params, inputs = 0, config.embedding or config.num_inputs
    if config.embedding:
        params += config.num_inputs * config.embedding
    for _ in range(config.layers):
        params += (inputs + units + 2) * gates * units
        inputs = units
    params += (units + 1) * config.num_classes
    overlap = config.truncation / config.step_size  # windows overlap with --stride
    return {
        # drawn in float64; weights, optimizer slots, gradients, an update's temporaries
        "the model": params * (8 + 4 * 4),
        # the series (int64), its windows and the compiled program's copy of them
        "an epoch's data": int(config.series_length * (16 + 24 * overlap)
                               * (2 if config.num_inputs > 1 else 1)),
        "a window's activations": config.truncation * config.batch_size * config.layers
                                  * units * (gates + 3) * 4 * 3,
        "the loss history": config.epochs * config.num_windows * 8,
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


def check_fits(config: TrainConfig) -> None:
    """ConfigError when a run of `config` would need more memory than this machine has,
    naming what would take the most, before anything is allocated or written."""
    available = memory_available()
    needed = memory_needed(config)
    total = sum(needed.values())
    if available is None or total <= available:
        return
    biggest = max(needed, key=needed.get)
    raise ConfigError(f"these settings need about {total / 2**30:,.1f} GiB of memory, more "
                      f"than the {available / 2**30:,.1f} GiB here ({biggest}: "
                      f"{needed[biggest] / 2**30:,.1f} GiB); try a smaller {HINTS[biggest]}")
