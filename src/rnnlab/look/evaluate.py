"""`rnnlab eval`: a trained run's loss and accuracy on fresh data (the synthetic tasks)
or on a part of its file (text and words), the state carried across windows as in
training (nn/along.py)."""
from __future__ import annotations

import secrets

import numpy as np

from rnnlab.data.corpus import load_corpus
from rnnlab.nn.along import along
from rnnlab.run.checkpoint import load_trained
from rnnlab.settings import checked

SPLITS = ("train", "val", "test")


def evaluate(run_dir: str, series_length: int | None = None, seed: int | None = None,
             split: str | None = None, newest: bool = False) -> dict:
    """Loss and accuracy on a fresh series of `series_length` (default: the run's) drawn
    from `seed` (default: drawn), with the run's batch and layout.

    Also the accuracy on the predictable positions only: in the tutorial's layout the
    first echo_step targets of each row come from inputs this row never sees. A text or
    words run is measured on a part of its file instead (`split`, by default its test
    part where it has one; see evaluate_split).
    """
    settings, model = load_trained(run_dir, newest)
    task = settings.task
    if not task.synthetic:
        return evaluate_split(run_dir, settings, model, split or default_split(settings))
    seed = secrets.randbelow(2**32) if seed is None else seed
    if series_length is not None:
        settings = checked(settings.config.replace(series_length=series_length))
    stretch = task.stretch(settings, "fresh", seed=seed)
    scores = along(model, stretch.x, stretch.y, settings.truncation, task.tolerance)
    scored = np.isfinite(stretch.y) if task.regression else np.ones(stretch.y.shape, bool)
    predictable = stretch.predictable & scored
    return {"run": run_dir, "seed": int(seed), "series_length": settings.series_length,
            "positions": int(scored.sum()), "loss": float(scores["loss"][scored].mean()),
            "accuracy": float(scores["right"][scored].mean()),
            "predictable_positions": int(predictable.sum()),
            "predictable_accuracy": float(scores["right"][predictable].mean())}


def default_split(settings) -> str:
    return "test" if settings.test_fraction else "train"


def evaluate_split(run_dir: str, settings, model, split: str) -> dict:
    """A text or words run's scores on one part of its file: loss (nats per symbol),
    bits per symbol, perplexity and accuracy, state carried across windows."""
    corpus = load_corpus(settings, settings.task.word_level)
    stretch = settings.task.stretch(settings, split, corpus)
    scores = along(model, stretch.x, stretch.y, settings.truncation)
    loss = float(scores["loss"].mean())
    return {"run": run_dir, "split": split, "positions": int(stretch.y.size), "loss": loss,
            "bits_per_symbol": loss / np.log(2), "perplexity": float(np.exp(loss)),
            "accuracy": float(scores["right"].mean())}
