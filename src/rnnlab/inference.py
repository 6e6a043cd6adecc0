"""Using a trained run: evaluate it on fresh data, predict a bit stream, export a SavedModel."""
from __future__ import annotations

import secrets
import shutil
import weakref

import numpy as np

from rnnlab._tf import Compiled, tf
from rnnlab.checkpoint import restore_latest
from rnnlab.corpus import encode_text, load_corpus
from rnnlab.model import model_for
from rnnlab.runfiles import read_config, write_error
from rnnlab.series import ADDING_TOLERANCE
from rnnlab.tasks import TASKS


def load_model(run_dir: str):
    """The run's config and its model with the newest readable checkpoint's weights."""
    config = read_config(run_dir)
    model = model_for(config, np.random.RandomState(0))
    restore_latest(run_dir, model)
    return config, model


def forward(model, x):
    """Run the RNN along x: [batch, L] symbols (adding task: [batch, L, 2]) from a zero
    state, carrying the state from step to step. Returns softmax outputs [L, batch, C]
    (adding task: the predicted numbers, [L, batch, 1])."""
    logits, _ = model.unroll(x, model.zero_state(x.shape[0]))
    return logits if model.regression else tf.nn.softmax(logits)


def evaluate(run_dir: str, series_length: int | None = None, seed: int | None = None) -> dict:
    """Loss and accuracy on a fresh series, state carried across windows as in training.

    Also the accuracy on the predictable positions only: in the tutorial's layout the
    first echo_step targets of each row come from inputs this row never sees.
    """
    config, model = load_model(run_dir)
    config = config.replace(series_length=series_length or config.series_length,
                            seed=secrets.randbelow(2**32) if seed is None else seed).validate()
    task = TASKS[config.task]
    rng = np.random.RandomState(config.seed)
    x, y = task.series(rng, config, None if task.synthetic else load_corpus(config))
    probs = Compiled(lambda: tf.function(forward, jit_compile=True, autograph=False))(
        model, tf.constant(x, tf.float32))
    if task.regression:
        return _evaluate_sums(run_dir, config, probs.numpy()[..., 0].T, y)
    p = np.transpose(probs.numpy(), (1, 0, 2))                  # [batch, L, C]
    p_target = np.take_along_axis(p, y[..., None], axis=-1)[..., 0]
    predicted = p.argmax(axis=-1)
    right = predicted == y
    predictable = task.predictable(config, right.shape)
    return {"run": run_dir, "seed": int(config.seed), "series_length": config.series_length,
            "positions": int(y.size), "loss": float(-np.log(np.maximum(p_target, 1e-30)).mean()),
            "accuracy": float(right.mean()),
            "predictable_positions": int(predictable.sum()),
            "predictable_accuracy": float(right[predictable].mean())}


def _evaluate_sums(run_dir: str, config, outputs: np.ndarray, y: np.ndarray) -> dict:
    """The adding task's scores: squared error and accuracy (within ADDING_TOLERANCE) at
    the episode ends, the only positions with a target; all of them are predictable."""
    ends = np.isfinite(y)
    errors = outputs[ends] - y[ends]
    right = np.abs(errors) < ADDING_TOLERANCE
    return {"run": run_dir, "seed": int(config.seed), "series_length": config.series_length,
            "positions": int(ends.sum()), "loss": float((errors ** 2).mean()),
            "accuracy": float(right.mean()), "predictable_positions": int(ends.sum()),
            "predictable_accuracy": float(right.mean())}


def predict(run_dir: str, bits: np.ndarray):
    """Per input bit: the predicted bit and its probability, state carried along the
    stream from zeros; a batch of one, any length."""
    parts = list(predict_stream(run_dir, [bits]))
    return (np.concatenate([predicted for _, predicted, _ in parts]),
            np.concatenate([probability for _, _, probability in parts]))


def predict_stream(run_dir: str, pieces):
    """(bits, predicted bits, their probabilities) for each piece of a stream of bits
    (int arrays), the state carried from piece to piece: memory stays that of a piece,
    however long the stream."""
    _, model = load_model(run_dir)

    @tf.function(autograph=False)
    def run(x, state):
        logits, state = model.unroll(x, state)
        return tf.nn.softmax(logits), state

    state = model.zero_state(1)
    for bits in pieces:
        probs, state = run(tf.constant(bits[None, :], tf.float32), state)
        p = probs.numpy()[:, 0, :]                                   # [L, C]
        predicted = p.argmax(axis=-1)  # for bits, the tutorial's 1 when P(class 0) < 0.5
        yield bits, predicted, p[np.arange(len(bits)), predicted]


class Stepper(tf.Module):
    """What a SavedModel serves: one step of the RNN for a batch of any size. The model's
    state tensors (an LSTM's h and c, every layer's) travel as one [batch, width] tensor.
    x is [batch, 1], a symbol per row, or for the adding task [batch, 2], (value, marker)."""

    def __init__(self, model):
        super().__init__(name="rnnlab_stepper")
        self.model = model
        self.widths = [int(s.shape[1]) for s in model.zero_state(1)]
        self.state_width = tf.constant(sum(self.widths))
        self.step = tf.function(self._step, input_signature=[
            tf.TensorSpec([None, model.num_inputs if model.regression else 1], tf.float32,
                          name="x"),
            tf.TensorSpec([None, sum(self.widths)], tf.float32, name="state")])

    def _step(self, x, state):
        inputs = x if self.model.regression else x[:, 0]
        logits, state = self.model.step(inputs, tuple(tf.split(state, self.widths, axis=1)))
        if self.model.regression:
            return {"prediction": logits[:, 0], "state": tf.concat(state, axis=1)}
        return {"probabilities": tf.nn.softmax(logits), "state": tf.concat(state, axis=1)}


def export(run_dir: str, export_dir: str) -> str:
    """A SavedModel with the signature step(x [batch, 1], state [batch, width]) ->
    {probabilities [batch, C], state [batch, width]} (adding task: x [batch, 2] ->
    {prediction [batch], state}); start from a zero state (width: the model's
    `state_width`, the state size for the vanilla cell). A SavedModel that cannot be
    written whole (a full disk) leaves no part of it: WriteError."""
    _, model = load_model(run_dir)
    stepper = Stepper(model)
    try:
        tf.saved_model.save(stepper, export_dir, signatures={"step": stepper.step})
    except (tf.errors.OpError, OSError) as err:
        shutil.rmtree(export_dir, ignore_errors=True)  # it was empty or absent before
        raise write_error(export_dir, err) from None
    return export_dir


_STEPS = weakref.WeakKeyDictionary()  # model -> its step as a tf.function, traced once


def _compiled_step(model):
    if model not in _STEPS:
        _STEPS[model] = tf.function(model.step)
    return _STEPS[model]


def sample(run_dir: str, length: int, temperature: float = 1.0, prime: str = "",
           seed: int | None = None) -> str:
    """Text written by a text-task run: `prime` is fed through the model, then `length`
    characters are drawn one at a time from softmax(logits / temperature)."""
    return "".join(sample_stream(run_dir, length, temperature, prime, seed))


def sample_stream(run_dir: str, length: int, temperature: float = 1.0, prime: str = "",
                  seed: int | None = None, piece: int = 100):
    """sample(), as it is written: `prime`, then `piece` characters at a time."""
    config, model = load_model(run_dir)
    yield from write_pieces(model, config.vocab, length, temperature, prime,
                            np.random.RandomState(seed), piece)


def write_text(model, vocab: str, length: int, temperature: float, prime: str,
               rng: np.random.RandomState) -> str:
    """`prime` (or a random character) through `model`, then `length` characters drawn
    one at a time from softmax(logits / temperature), each fed back in."""
    return "".join(write_pieces(model, vocab, length, temperature, prime, rng))


def write_pieces(model, vocab: str, length: int, temperature: float, prime: str,
                 rng: np.random.RandomState, piece: int = 100):
    """write_text's text, `prime` first, then up to `piece` characters at a time."""
    ids = list(encode_text(prime, vocab)) if prime else [rng.randint(len(vocab))]
    step = _compiled_step(model)
    state = model.zero_state(1)
    for i in ids[:-1]:
        _, state = step(tf.constant([i], tf.float32), state)
    if prime:
        yield prime
    current, out = ids[-1], []
    for n in range(length):
        logits, state = step(tf.constant([current], tf.float32), state)
        z = logits.numpy()[0].astype(np.float64)
        p = np.exp((z - z.max()) / temperature)  # in this order, any temperature > 0 is finite
        current = int(rng.choice(len(p), p=p / p.sum()))
        out.append(vocab[current])
        if len(out) == piece or n == length - 1:
            yield "".join(out)
            out = []
