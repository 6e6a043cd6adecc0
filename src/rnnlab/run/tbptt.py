"""Truncated backpropagation through time: the compiled loop over a chunk of windows, and
the loop over epochs and chunks that single runs and populations share.

How each window's gradients are computed is the run's gradient algorithm
(nn/gradients.py), which may carry tensors of its own from window to window. What a
run shows and writes between chunks (console lines, the figure, metrics, checkpoints)
are observers (run/observers.py), called in order after every chunk and epoch.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from rnnlab._tf import tf
from rnnlab.data.series import to_windows
from rnnlab.errors import TrainingInterrupted
from rnnlab.nn.losses import correct_predictions
from rnnlab.nn.optim import clip_by_global_norm
from rnnlab.run.records import Progress

CHUNK_SECONDS = 0.25  # a compiled call lasts about this long at most, so a stop waits little


def compile_window_runner(model, optimizer, config, seeds=None):
    """One XLA-compiled program that trains windows [start, stop) of an epoch.

    This is the TBPTT loop. Window i covers steps [i*k1, i*k1 + k2) of every row (k2 =
    truncation, k1 = stride, by default k2: the tutorial's non-overlapping windows). It
    is unrolled k2 steps from the carried state and gets one optimizer update for the
    loss of its last k1 steps (the ones no earlier window scored), its gradients (from
    the run's gradient algorithm, config.gradient) clipped to a global norm of
    config.clip if set; the state after its first k1 steps is carried into window i + 1,
    and so is what the gradient algorithm carries. For TBPTT no gradient flows across a
    window's start, because the state enters each window as a plain input. The learning
    rate ([], or [P]) and the number of updates before this epoch's first are inputs: a
    rate that decays between epochs needs no new program.

    `config` is a run's settings.Settings (its task and gradient are table entries).

    x, y: [num_windows, batch, truncation] (the whole epoch, so the shapes never change
    and the program is traced once per run, whatever chunk is asked for).
    Returns per-window losses and correct-prediction counts ([num_windows], only [start,
    stop) filled), the carried state, what the gradient algorithm carries, the outputs (softmax, or the adding task's
    numbers) of window `shown_at`, [T, batch, C], for the figure (zeros when it is
    outside the chunk). A population (population.py) has its axis P after the window's:
    x, y [num_windows, P, batch, truncation], losses and counts [num_windows, P].
    With --dropout, each window's masks are drawn from `seeds` (the run's, or each
    member's) and the update's number: the same on any machine, after a resume too.
    """
    n, batch, T, C = config.num_windows, config.batch_size, config.truncation, config.num_classes
    k1 = config.step_size
    task, gradient = config.task, config.gradient
    P = list(model.population_shape)  # [] for one network, [P] for a population
    state_spec = tuple(tf.TensorSpec(s.shape, tf.float32) for s in model.zero_state(batch))
    carried_spec = tuple(tf.TensorSpec(s.shape, tf.float32)
                         for s in gradient.start(model, batch))
    channels = [config.num_inputs] if task.inputs == "channels" else []
    x_spec = tf.TensorSpec([n] + P + [batch, T] + channels, tf.float32)
    y_spec = tf.TensorSpec([n] + P + [batch, T], tf.float32 if task.regression else tf.int32)

    seeds = tf.constant(np.asarray((config.seed or 0) if seeds is None else seeds, np.uint32))

    def train_window(i, state, carried, losses, correct, shown, x, y, shown_at, learning_rate,
                     updates):
        update = updates + tf.cast(i, tf.int64) + 1
        masks = model.dropout_masks(seeds, update, batch, T)
        loss, logits, state, carried, grads = gradient.window(
            model, x[i], y[i], state, carried, loss_from=T - k1, carry_at=k1, masks=masks,
            key=(seeds, update))
        if config.clip:
            grads = clip_by_global_norm(grads, config.clip, member_axis=bool(P))
        optimizer.apply(grads, model.params, learning_rate, update)
        targets = tf.experimental.numpy.moveaxis(y[i], -1, 0)
        right = correct_predictions(logits[T - k1:], targets[T - k1:], task.tolerance)
        hits = tf.reduce_sum(tf.cast(right, tf.int32), axis=[0, -1])  # over steps and rows
        losses = tf.tensor_scatter_nd_update(losses, [[i]], [loss])
        correct = tf.tensor_scatter_nd_update(correct, [[i]], [hits])
        outputs = logits if task.regression else tf.nn.softmax(logits)
        shown = tf.where(i == shown_at, outputs, shown)
        return i + 1, state, carried, losses, correct, shown

    @tf.function(jit_compile=True, autograph=False, reduce_retracing=False, input_signature=[
        x_spec, y_spec, state_spec, carried_spec, tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec(P, tf.float32),
        tf.TensorSpec([], tf.int64)])
    def run_windows(x, y, state, carried, start, stop, shown_at, learning_rate, updates_before):
        # An explicit while_loop: autograph's `for i in tf.range` would pass XLA a
        # maximum trip count, which XLA makes a compile-time constant (a recompile per chunk).
        loop = (start, state, carried, tf.zeros([n] + P), tf.zeros([n] + P, tf.int32),
                tf.zeros([T] + P + [batch, C]))
        _, state, carried, losses, correct, shown = tf.while_loop(
            lambda i, *_: i < stop,
            lambda *c: train_window(*c, x, y, shown_at, learning_rate, updates_before), loop)
        return losses, correct, state, carried, shown

    return run_windows


def chunk_bounds(num_windows: int, log_every: int):
    """Windows [start, stop) ending at logged windows: [0, 1), [1, 101), [101, 201), ...

    Each chunk holds one logged window, its last, so the console lines and the figure
    follow training; the calls are few (7 per tutorial epoch) and cost ~0.1 ms.
    """
    ends = list(range(1, num_windows, log_every)) + [num_windows]
    return list(zip([0] + ends[:-1], ends))


class ChunkTimer:
    """Cuts chunks into pieces of about CHUNK_SECONDS, by the time windows have taken so
    far, so that a stop request waits that long at most whatever the model's size (a
    piece is one window at least). The tutorial's windows take microseconds: its chunks
    stay whole."""

    def __init__(self, seconds: float = CHUNK_SECONDS):
        self.seconds, self.per_window, self.calls = seconds, None, 0

    def pieces(self, start: int, stop: int):
        while start < stop:
            size = 1 if self.per_window is None else max(1, int(self.seconds / self.per_window))
            end = min(stop, start + size)
            began = time.perf_counter()
            yield start, end
            self.calls += 1
            if self.calls > 1:  # the first call compiles
                self.per_window = (time.perf_counter() - began) / (end - start)
            start = end


@contextmanager
def stop_requests():
    """Turn Ctrl-C and SIGTERM into a request, honoured between compiled calls; a
    second Ctrl-C stops at once. Outside the main thread, signals are left alone."""
    request = {"signum": None}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request["signum"] is not None:
            raise KeyboardInterrupt
        request["signum"] = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@dataclass
class Epoch:
    """One epoch's data, drawn at its start: the series, its windows, what they score."""

    number: int
    x: np.ndarray        # [(P,) batch, row(, channels)]
    y: np.ndarray
    xw: np.ndarray       # [num_windows, (P,) batch, truncation(, channels)]
    yw: np.ndarray
    scored: np.ndarray   # [num_windows(, P)] targets each window scores
    tensors: tuple       # (xw, yw) as the compiled program takes them
    rng_state: tuple | None = None  # the random state after the draw: the next epoch's


def epoch_of(config, number: int, x: np.ndarray, y: np.ndarray, rng_state=None,
             population: bool = False) -> Epoch:
    """An Epoch of the series x, y: [batch, row] (a population: [P, batch, row])."""
    task = config.task
    if population:
        xw, yw = (np.stack([to_windows(m, config.truncation, config.step_size) for m in a],
                           axis=1) for a in (x, y))
    else:
        xw, yw = (to_windows(a, config.truncation, config.step_size) for a in (x, y))
    tensors = (tf.constant(xw, tf.float32),
               tf.constant(yw, tf.float32 if task.regression else tf.int32))
    return Epoch(number, x, y, xw, yw, scored_per_window(config, yw), tensors, rng_state)


class Observer:
    """What happens around the training: each hook is called in order, after the
    progress has been recorded."""

    def epoch_started(self, progress: Progress, epoch: Epoch) -> None: ...

    def chunk_done(self, progress: Progress, epoch: Epoch, start: int, stop: int,
                   shown) -> None: ...

    def epoch_done(self, progress: Progress, epoch: Epoch) -> None: ...

    def interrupted(self, progress: Progress, epoch: Epoch) -> None: ...


def train_epochs(config, run_windows, draw_epoch, progress: Progress, observers: list,
                 request: dict | None = None, base_rate=None) -> None:
    """Train from `progress` to the last epoch: each epoch's series from draw_epoch
    (progress) -> Epoch, its windows in chunks through the compiled `run_windows`, the
    state carried from chunk to chunk and reset to zeros at each epoch's start.

    A stop request (`request["signum"]`, from stop_requests) is served after the chunk
    in progress: the observers' `interrupted` hooks run, then TrainingInterrupted.
    The learning rate is `base_rate` (default: the config's; a population's, one per
    member) times the progress's rate_scale, which --lr-decay lowers between epochs.
    """
    n, every = config.num_windows, config.log_every
    base_rate = config.rate if base_rate is None else base_rate
    timer = ChunkTimer()
    while progress.epoch < config.epochs:
        started = time.perf_counter()
        rate = np.float32(base_rate * progress.rate_scale)
        epoch = draw_epoch(progress)
        for o in observers:
            o.epoch_started(progress, epoch)
        state = tuple(tf.constant(part) for part in progress.carried_state)
        carried = tuple(tf.constant(part) for part in progress.gradient_state)
        for chunk_start, chunk_stop in chunk_bounds(n, every):
            if chunk_stop <= progress.window:
                continue
            for start, stop in timer.pieces(max(chunk_start, progress.window), chunk_stop):
                logged = (stop - 1) // every * every  # the chunk's one logged window
                shown_at = logged if start <= logged else -1
                losses, hits, state, carried, shown = run_windows(
                    *epoch.tensors, state, carried, start, stop, shown_at, rate,
                    np.int64(progress.epoch) * n)
                record_chunk(progress, epoch, start, stop, losses, hits, state, carried)
                for o in observers:
                    o.chunk_done(progress, epoch, start, stop, shown if shown_at >= 0 else None)
                if stop < n and request and request["signum"] is not None:
                    for o in observers:
                        o.interrupted(progress, epoch)
                    raise request.get("error") or TrainingInterrupted(
                        request["signum"], config.out, epoch.number, stop)
        progress.finish_epoch(window_accuracies(progress.epoch_hits, epoch.scored),
                              time.perf_counter() - started, epoch.rng_state, rate)
        for o in observers:
            o.epoch_done(progress, epoch)
        if config.patience and progress.stale >= config.patience:
            return  # --patience: the loss stopped improving (observers.stops_early)
        if request and request["signum"] is not None and progress.epoch < config.epochs:
            raise request.get("error") or TrainingInterrupted(
                request["signum"], config.out, progress.epoch, 0)


def record_chunk(progress: Progress, epoch: Epoch, start: int, stop: int, losses, hits,
                 state, carried=()) -> None:
    """Windows [start, stop) into the progress: their losses (NaN for a window that
    scored no target), their hits, the state the next window starts from and what the
    gradient algorithm carries into it."""
    losses = losses.numpy()[start:stop]
    losses[epoch.scored[start:stop] == 0] = np.nan
    progress.epoch_losses[start:stop] = losses
    progress.epoch_hits[start:stop] = hits.numpy()[start:stop]
    progress.window, progress.carried_state = stop, [part.numpy() for part in state]
    progress.gradient_state = [part.numpy() for part in carried]


def scored_per_window(config, yw: np.ndarray) -> np.ndarray:
    """How many targets each window scores: its last k1 steps of every row, or for the
    adding task only the episode ends among them (none in many windows).

    yw: [num_windows, (P,) batch, T] -> [num_windows (, P)]."""
    k1 = config.step_size
    if config.task.regression:
        return np.isfinite(yw[..., -k1:]).sum(axis=(-2, -1))
    return np.full(yw.shape[:-2], config.batch_size * k1)


def window_accuracies(hits: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Correct predictions per window -> the fraction of the window's scored targets
    (NaN for a window without any)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scored > 0, hits / np.maximum(scored, 1), np.nan).astype(np.float32)
