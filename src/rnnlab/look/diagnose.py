"""`rnnlab diagnose RUN_DIR`: what truncation lets a trained network learn, and what it
holds in memory.

- Gradient reach: the mean over rows of ||dL_t / ds_{t-d}||, how strongly the loss at
  step t depends on the network's state d steps earlier (s: every state tensor of every
  layer, concatenated), for d = 0..max_lag through a full unroll. TBPTT with truncation
  T only ever sees the lags below T; the curve beyond shows what it cannot credit.
  (Adding task: L_t is the output at t, as most steps have no target.)
- Memory curve: how well the input d steps back can be read from the state by a linear
  probe (least squares on half the data, scored on the other half): accuracy for bits
  and symbols, R^2 for the adding task's values.
"""
from __future__ import annotations

import os

import numpy as np

from rnnlab._tf import tf
from rnnlab.config import count
from rnnlab.data.corpus import load_corpus
from rnnlab.nn.along import along
from rnnlab.run.checkpoint import load_trained
from rnnlab.run.writes import savefig_atomic, write_atomic

WARM_UP = 50  # steps run before the measured ones, so the state is a typical one


def fresh_rows(settings, length: int, rows: int, seed: int, corpus=None):
    """[rows, length] inputs and targets: fresh ones drawn like the run's data (rows
    layout); for a text run, from its held-out part (validation, else test, else its
    training part), in as many rows as hold `length` steps."""
    if corpus is None:
        stretch = settings.task.stretch(settings, "fresh", seed=seed, rows=rows,
                                        length=length, layout="rows")
        return stretch.x, stretch.y
    part = next(p for p in ("val", "test", "train") if len(corpus[p]) > length + 1)
    rows = max(1, min(rows, (len(corpus[part]) - 1) // length))
    stretch = settings.task.stretch(settings, part, corpus, rows=rows, length=length)
    return stretch.x, stretch.y


def gradient_by_lag(model, x, y, regression: bool) -> np.ndarray:
    """x, y: [rows, L] -> [L] mean over rows of ||dL_{L-1} / ds_{L-1-d}||, d = 0..L-1,
    with the first WARM_UP steps run before, outside the gradient."""
    rows = x.shape[0]
    state = model.zero_state(rows)
    for t in range(WARM_UP):
        _, state = model.step(tf.constant(x[:, t], tf.float32), state)
    xs, L = x[:, WARM_UP:], x.shape[1] - WARM_UP
    with tf.GradientTape() as tape:
        tape.watch(state)
        entering = []  # the state entering each step
        for t in range(L):
            entering.append(state)
            logits, state = model.step(tf.constant(xs[:, t], tf.float32), state)
        if regression:
            loss = tf.reduce_sum(logits[:, 0])
        else:
            labels = tf.constant(y[:, -1], tf.int32)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits))
    grads = tape.gradient(loss, [list(s) for s in entering])
    # the state entering step L-1-d is d steps before the target's step (d = 0: its own input)
    norms = [np.sqrt(sum(np.sum(g.numpy() ** 2, axis=1) for g in step_grads))
             for step_grads in grads]
    return np.array([norms[L - 1 - d].mean() for d in range(L)])


def states_along(model, x, y, window: int):
    """[rows, L] inputs -> [L, rows, width]: every state tensor after each step, from
    zeros, side by side."""
    states = along(model, x, y, window, states=True)["states"]      # each [rows, L, units]
    return np.moveaxis(np.concatenate(states, axis=-1), 1, 0)


def memory_curve(states: np.ndarray, x: np.ndarray, max_lag: int, numbers: bool,
                 num_symbols: int) -> np.ndarray:
    """Linear-probe score of the input d steps back, d = 0..max_lag; states [L, rows, width].
    Inputs that are numbers (the adding task's values) are scored by R^2, symbols by
    accuracy."""
    L, rows, width = states.shape
    scores = []
    for d in range(max_lag + 1):
        t = np.arange(max(WARM_UP, d), L)
        features = states[t].reshape(-1, width)
        features = np.hstack([features, np.ones((len(features), 1))])
        past = np.moveaxis(x[:, t - d], 0, 1).reshape(-1, *x.shape[2:])  # [(t, row), ...]
        half = len(features) // 2
        if numbers:
            target = past[:, 0]
            w, *_ = np.linalg.lstsq(features[:half], target[:half], rcond=None)
            error = target[half:] - features[half:] @ w
            scores.append(1.0 - error.var() / target[half:].var())
            continue
        onehot = np.eye(num_symbols)[past.astype(int)]
        w, *_ = np.linalg.lstsq(features[:half], onehot[:half], rcond=None)
        guess = (features[half:] @ w).argmax(axis=1)
        scores.append(float((guess == past[half:]).mean()))
    return np.array(scores)


def diagnose(run_dir: str, max_lag: int | None = None, series_length: int = 20000,
             seed: int = 0) -> list:
    """diagnose.csv, truncation_bias.csv (cells with a written step back) and
    diagnose.png in the run folder; returns their paths."""
    config, model = load_trained(run_dir)
    task = config.task
    corpus = None if task.synthetic else load_corpus(config, task.word_level)
    T = config.truncation
    max_lag = max_lag or max(3 * T, 30)
    length = WARM_UP + max_lag + 1
    rows = max(8, min(512, series_length // length))
    x, y = fresh_rows(config, length, rows, seed, corpus)
    reach = gradient_by_lag(model, x, y, task.regression)
    bias = bias_by_truncation(model, x, y, max_lag) if config.cell.back else None
    probe_length = max(series_length // 16, WARM_UP + max_lag + 200)
    xm, ym = fresh_rows(config, probe_length, 16, seed + 1, corpus)
    num_symbols = config.num_inputs if config.num_inputs > 1 else 2
    numbers = task.inputs == "channels"
    memory = memory_curve(states_along(model, xm, ym, T), xm, max_lag, numbers, num_symbols)

    score = "probe_r2" if numbers else "probe_accuracy"
    lines = [f"lag,gradient_norm,{score},within_truncation"]
    lines += [f"{d},{reach[d]:.6g},{memory[d]:.6g},{int(d < T)}" for d in range(max_lag + 1)]
    csv_path = os.path.join(run_dir, "diagnose.csv")
    write_atomic(csv_path, "\n".join(lines) + "\n")
    paths = [csv_path]
    if bias is not None:
        lines = ["k,cosine,relative_error,run_truncation"]
        lines += [f"{k},{c:.6g},{e:.6g},{int(k == T)}"
                  for k, c, e in zip(bias["k"], bias["cosine"], bias["relative_error"])]
        paths.append(os.path.join(run_dir, "truncation_bias.csv"))
        write_atomic(paths[-1], "\n".join(lines) + "\n")
    png_path = os.path.join(run_dir, "diagnose.png")
    _draw(png_path, reach, memory, bias, config, score)
    return paths + [png_path]


def bias_by_truncation(model, x, y, longest: int) -> dict:
    """TBPTT(k)'s gradient against the exact one over the stretch after the warm-up
    (nn/bias.py), for k = 1 .. its length `longest` (where k covers it, they are one)."""
    from rnnlab.nn.bias import truncation_bias

    rows = x.shape[0]
    _, state = model.unroll(tf.constant(x[:, :WARM_UP], tf.float32), model.zero_state(rows))
    stretch = slice(WARM_UP, WARM_UP + longest)
    return truncation_bias(model, x[:, stretch], y[:, stretch], range(1, longest + 1), state)


def _draw(path, reach, memory, bias, config, score) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    T = config.truncation
    lags = np.arange(len(reach))
    fig = Figure(figsize=(16 if bias else 11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    left, right, *third = fig.subplots(1, 3 if bias else 2)
    left.semilogy(lags, np.maximum(reach, 1e-30), marker=".")
    left.axvline(T - 0.5, color="red", ls="--", label=f"truncation {T}: TBPTT stops here")
    left.set_xlabel("lag d (steps back)")
    left.set_ylabel("mean ||dL_t / ds_{t-d}||")
    left.set_title("how much gradient reaches back d steps (full unroll)", fontsize=9)
    left.legend(fontsize=8)
    right.plot(lags, memory, marker=".")
    right.axvline(T - 0.5, color="red", ls="--")
    lag = config.task.lag
    if lag:
        right.axvline(config.echo_step, color="gray", ls=":",
                      label=f"the task's {lag.replace('-', ' ')} ({config.echo_step})")
        right.legend(fontsize=8)
    right.set_xlabel("lag d (steps back)")
    right.set_ylabel("R^2" if score == "probe_r2" else "accuracy")
    right.set_title("memory: the input d steps back, read from the state by a linear probe",
                    fontsize=9)
    if bias:
        _draw_bias(third[0], bias, T)
    fig.suptitle(f"{config.cell.name} x{config.layers}, {count(config.state_size, 'unit')}, task "
                 f"{config.task.name}, truncation {T}", fontsize=10)
    savefig_atomic(fig, path, dpi=100)


def _draw_bias(axes, bias, T: int) -> None:
    """The truncation's bias: cosine and relative error of TBPTT(k) against the exact
    gradient, the run's own k marked."""
    ks = bias["k"]
    axes.plot(ks, bias["cosine"], marker=".", label="cosine with the exact gradient")
    axes.plot(ks, bias["relative_error"], marker=".", label="|g_k - g| / |g|")
    axes.axvline(T, color="red", ls="--", label=f"the run's truncation, {T}")
    axes.axhline(1.0, color="gray", lw=0.5)
    top = max(1.1, min(2.0, max(bias["relative_error"]) + 0.1))
    axes.set_ylim(min(-0.05, min(bias["cosine"]) - 0.05), top)
    axes.set_xlabel("window length k of TBPTT(k)")
    axes.set_title("truncation's bias: TBPTT(k) against backprop through the stretch",
                   fontsize=9)
    axes.legend(fontsize=8)
