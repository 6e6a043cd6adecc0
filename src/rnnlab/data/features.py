"""What a task's data holds at each step that a unit might track: the features `rnnlab
inspect` ranks units by (Karpathy, Johnson and Fei-Fei 2015 looked for units tracking
quotes and line lengths). Each is a number per step of a stretch, [rows, L]; a unit
tracks one when its activation along the stretch correlates with it.

- echo and dependency: the input d steps back, for each d up to a few past the lag;
- copy: where in its episode a step is, and whether the symbols are being recalled;
- adding: the sum of the episode's marked values so far, and the marker;
- text and words: inside quotes, inside brackets, position in the line, the start of
  a word, just after a newline, upper case (characters; words: the last three).
"""
from __future__ import annotations

import numpy as np

from rnnlab.data import series


def features(task, settings, x: np.ndarray, symbols: list | None = None) -> dict:
    """{name: float [rows, L]} of the stretch x [rows, L] (adding: [rows, L, 2])."""
    if task.name in ("echo", "dependency"):
        lags = range(0, (settings.echo_step if task.lag else 8) + 4)
        return {f"the input {d} steps back": series.shift(x, d).astype(float) if d else
                x.astype(float) for d in lags}
    if task.name == "copy":
        length = settings.echo_step + series.COPY_SYMBOLS
        phase = np.arange(x.shape[1]) % length
        return {"position in the episode": np.broadcast_to(phase, x.shape).astype(float),
                "recalling the symbols": np.broadcast_to(phase >= settings.echo_step,
                                                         x.shape).astype(float)}
    if task.name == "adding":
        return _adding(x, settings.echo_step)
    return _text(x, symbols, task.word_level)


def _adding(x: np.ndarray, length: int) -> dict:
    values, markers = x[..., 0], x[..., 1]
    marked = values * markers
    steps = np.arange(x.shape[1])
    so_far = np.zeros_like(values)
    for start in range(0, x.shape[1], length):  # the episode's running sum, from its start
        part = slice(start, start + length)
        so_far[:, part] = np.cumsum(marked[:, part], axis=1)
    return {"the marked values' sum so far": so_far, "a marked value": markers.astype(float),
            "position in the episode": np.broadcast_to(steps % length, values.shape).astype(float)}


def _text(x: np.ndarray, symbols: list, words: bool) -> dict:
    """Per step, of the symbol just read (the input at t)."""
    read = np.vectorize(lambda i: symbols[i], otypes=[object])(x)
    if words:
        return {"after a line's end": (read == "<eos>").astype(float),
                "a capitalised word": np.vectorize(lambda w: w[:1].isupper(), otypes=[float])(read),
                "position in the line": _since(read == "<eos>")}
    quote = np.zeros(x.shape)
    bracket = np.zeros(x.shape)
    for r in range(x.shape[0]):  # open/close as the text goes: quotes toggle, brackets nest
        inside, depth = 0.0, 0
        for t, ch in enumerate(read[r]):
            if ch == '"':
                inside = 1.0 - inside
            depth = max(0, depth + (ch in "([{") - (ch in ")]}"))
            quote[r, t], bracket[r, t] = inside, float(depth > 0)
    newline = read == "\n"
    space = np.vectorize(lambda ch: ch.isspace(), otypes=[bool])(read)
    return {"inside quotes": quote, "inside brackets": bracket,
            "position in the line": _since(newline),
            "the start of a word": (~space & np.pad(space, ((0, 0), (1, 0)),
                                                    constant_values=True)[:, :-1]).astype(float),
            "just after a newline": newline.astype(float),
            "upper case": np.vectorize(lambda ch: ch.isupper(), otypes=[float])(read)}


def _since(mark: np.ndarray) -> np.ndarray:
    """Steps since the last True of `mark` along each row (from the row's start)."""
    out = np.zeros(mark.shape)
    for r in range(mark.shape[0]):
        count = 0
        for t in range(mark.shape[1]):
            count = 0 if mark[r, t] else count + 1
            out[r, t] = count
    return out


def correlations(activations: np.ndarray, named: dict) -> tuple:
    """activations [L, units] against each feature [L]: (names, [features, units] of
    Pearson's r; 0 where a feature or a unit does not vary)."""
    names = list(named)
    A = activations - activations.mean(axis=0)
    F = np.stack([named[n] - named[n].mean() for n in names], axis=1)  # [L, features]
    norms = np.outer(np.linalg.norm(F, axis=0), np.linalg.norm(A, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(norms > 1e-12, (F.T @ A) / np.maximum(norms, 1e-300), 0.0)
    return names, r
