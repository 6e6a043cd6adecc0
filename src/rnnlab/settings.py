"""From what a user asks to the settings a run uses: the config (config.py) and what its
task fixes and forbids (tasks.py), put together and checked before TensorFlow loads."""
from __future__ import annotations

from rnnlab.config import POPULATION_CELLS, ConfigError, TrainConfig
from rnnlab.corpus import read_text
from rnnlab.tasks import TASKS


def prepare(config: TrainConfig) -> TrainConfig:
    """The config a new run uses: what the user left open filled in (the initial
    weights' kind, what the task fixes, for text its file's characters and length, a
    drawn seed, the run folder), every setting checked: ConfigError names the first
    that cannot work."""
    config.check_settings()
    task = TASKS[config.task]
    if config.init is None:
        config = config.replace(init=task.default_init(config.cell))
    if config.vocab is None:  # a resumed or loaded config has its own
        text = None
        if not task.synthetic:
            if not config.data:
                raise ConfigError(f"--task {config.task} needs --data FILE (a UTF-8 text file)")
            text = read_text(config.data)
        config = config.replace(**task.settings(config, text))
    return check(config.with_run_defaults())


def check(config: TrainConfig) -> TrainConfig:
    """Every setting of a complete config (a new run's, or one read from config.json)
    checked, the task's own rules included."""
    config.validate()
    TASKS[config.task].check(config)
    return config


def check_member(config: TrainConfig) -> None:
    """ConfigError unless `config` can be a population member (so a sweep point)."""
    if config.cell not in POPULATION_CELLS or not TASKS[config.task].synthetic:
        raise ConfigError(f"sweeps train the from-scratch cells ({', '.join(POPULATION_CELLS)}) "
                          f"on the synthetic tasks; got --cell {config.cell} --task {config.task}")
