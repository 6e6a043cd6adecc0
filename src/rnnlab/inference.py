"""Using a trained run: evaluate it on fresh data, predict a bit stream, export a SavedModel."""
from __future__ import annotations

import secrets
import shutil
import weakref

import numpy as np

from rnnlab._tf import Compiled, tf
from rnnlab.checkpoint import restore_latest
from rnnlab.corpus import END_OF_LINE, encode_text, encode_words, load_corpus, symbols_of_vocab
from rnnlab.model import model_for
from rnnlab.runfiles import read_config, write_error
from rnnlab.series import ADDING_TOLERANCE
from rnnlab.tasks import TASKS


def load_model(run_dir: str, newest: bool = False):
    """The run's config and its model with the weights of its best checkpoint (lowest
    validation loss, for runs that have one), or of its newest readable one."""
    config = read_config(run_dir)
    model = model_for(config, np.random.RandomState(0))
    restore_latest(run_dir, model, best=not newest)
    return config, model


def forward(model, x):
    """Run the RNN along x: [batch, L] symbols (adding task: [batch, L, 2]) from a zero
    state, carrying the state from step to step. Returns softmax outputs [L, batch, C]
    (adding task: the predicted numbers, [L, batch, 1])."""
    logits, _ = model.unroll(x, model.zero_state(x.shape[0]))
    return logits if model.regression else tf.nn.softmax(logits)


SPLITS = ("train", "val", "test")


def evaluate(run_dir: str, series_length: int | None = None, seed: int | None = None,
             split: str | None = None, newest: bool = False) -> dict:
    """Loss and accuracy on a fresh series, state carried across windows as in training.

    Also the accuracy on the predictable positions only: in the tutorial's layout the
    first echo_step targets of each row come from inputs this row never sees. A text or
    words run is measured on a part of its file instead (`split`, by default its test
    part where it has one; see evaluate_split).
    """
    config, model = load_model(run_dir, newest)
    if not TASKS[config.task].synthetic:
        return evaluate_split(run_dir, config, model, split or default_split(config))
    config = config.replace(series_length=series_length or config.series_length,
                            seed=secrets.randbelow(2**32) if seed is None else seed).validate()
    task = TASKS[config.task]
    rng = np.random.RandomState(config.seed)
    x, y = task.series(rng, config)
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


def default_split(config) -> str:
    return "test" if config.test_fraction else "train"


def evaluate_split(run_dir: str, config, model, split: str) -> dict:
    """A text or words run's scores on one part of its file: loss (nats per symbol),
    bits per symbol, perplexity and accuracy, state carried across windows."""
    ids = load_corpus(config, TASKS[config.task].word_level)[split]
    scores = held_out_scores(model, ids, config.batch_size, config.truncation)
    return {"run": run_dir, "split": split, "positions": scores["positions"],
            "loss": scores["loss"], "bits_per_symbol": scores["loss"] / np.log(2),
            "perplexity": float(np.exp(scores["loss"])), "accuracy": scores["accuracy"]}


_SCORERS = weakref.WeakKeyDictionary()  # model -> its compiled window scorer


def held_out_scores(model, ids: np.ndarray, batch: int, truncation: int) -> dict:
    """Mean cross-entropy (nats) and accuracy of predicting each next symbol of `ids`,
    as training reads a text: `batch` rows, each one contiguous part, the state carried
    along a row from zeros, window after window of `truncation` steps (the last one
    padded, its padding unscored). Dropout is off: the model's plain forward pass."""
    n = (len(ids) - 1) // batch * batch
    x, y = ids[:n].reshape(batch, -1), ids[1:n + 1].reshape(batch, -1)
    windows = -(-x.shape[1] // truncation)
    pad = windows * truncation - x.shape[1]
    valid = np.pad(np.ones_like(x, bool), ((0, 0), (0, pad)))
    x, y = np.pad(x, ((0, 0), (0, pad))), np.pad(y, ((0, 0), (0, pad)))
    if model not in _SCORERS:
        _SCORERS[model] = Compiled(lambda: tf.function(
            lambda *a: _score_window(model, *a), jit_compile=True, autograph=False))
    score, state, loss, right = _SCORERS[model], model.zero_state(batch), 0.0, 0
    for w in range(windows):
        part = slice(w * truncation, (w + 1) * truncation)
        window_loss, window_right, state = score(
            tf.constant(x[:, part], tf.float32), tf.constant(y[:, part], tf.int32),
            tf.constant(valid[:, part]), state)
        loss += float(window_loss)
        right += int(window_right)
    return {"loss": loss / n, "accuracy": right / n, "positions": n}


def _score_window(model, x, y, valid, state):
    """Summed loss and correct guesses of one window [batch, T], and the state after it."""
    logits, state = model.unroll(x, state)
    targets = tf.transpose(y)                                        # [T, batch]
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    right = tf.argmax(logits, axis=-1, output_type=tf.int32) == targets
    valid = tf.transpose(valid)
    return (tf.reduce_sum(tf.where(valid, losses, 0.0)),
            tf.reduce_sum(tf.cast(right & valid, tf.int32)), state)


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


def export(run_dir: str, export_dir: str, newest: bool = False) -> str:
    """A SavedModel with the signature step(x [batch, 1], state [batch, width]) ->
    {probabilities [batch, C], state [batch, width]} (adding task: x [batch, 2] ->
    {prediction [batch], state}); start from a zero state (width: the model's
    `state_width`, the state size for the vanilla cell). A SavedModel that cannot be
    written whole (a full disk) leaves no part of it: WriteError."""
    _, model = load_model(run_dir, newest)
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
    """Text written by a text or words run: `prime` is fed through the model, then
    `length` symbols are drawn one at a time from softmax(logits / temperature)."""
    return "".join(sample_stream(run_dir, length, temperature, prime, seed))


def sample_stream(run_dir: str, length: int, temperature: float = 1.0, prime: str = "",
                  seed: int | None = None, piece: int = 100, newest: bool = False):
    """sample(), as it is written: `prime`, then `piece` symbols at a time."""
    config, model = load_model(run_dir, newest)
    words = TASKS[config.task].word_level
    yield from write_pieces(model, symbols_of_vocab(config, words), length, temperature, prime,
                            np.random.RandomState(seed), piece, words)


def write_text(model, symbols, length: int, temperature: float, prime: str,
               rng: np.random.RandomState, words: bool = False) -> str:
    """`prime` (or a random symbol) through `model`, then `length` symbols drawn one at a
    time from softmax(logits / temperature), each fed back in. `symbols`: the model's
    classes (characters, or with `words` words, written with spaces between them and
    <eos> as a line's end)."""
    return "".join(write_pieces(model, symbols, length, temperature, prime, rng, words=words))


def write_pieces(model, symbols, length: int, temperature: float, prime: str,
                 rng: np.random.RandomState, piece: int = 100, words: bool = False):
    """write_text's text, `prime` first, then up to `piece` symbols at a time."""
    if words:
        ids = list(encode_words(prime.split(), list(symbols))) if prime.strip() else []
    else:
        ids = list(encode_text(prime, "".join(symbols))) if prime else []
    ids = ids or [rng.randint(len(symbols))]
    step = _compiled_step(model)
    state = model.zero_state(1)
    for i in ids[:-1]:
        _, state = step(tf.constant([i], tf.float32), state)
    if prime:
        yield prime
    current, out = ids[-1], []
    line_start = not prime or prime.endswith("\n")
    for n in range(length):
        logits, state = step(tf.constant([current], tf.float32), state)
        z = logits.numpy()[0].astype(np.float64)
        p = np.exp((z - z.max()) / temperature)  # in this order, any temperature > 0 is finite
        current = int(rng.choice(len(p), p=p / p.sum()))
        if not words:
            out.append(symbols[current])
        elif symbols[current] == END_OF_LINE:
            out.append("\n")
            line_start = True
        else:
            out.append(("" if line_start else " ") + symbols[current])
            line_start = False
        if len(out) == piece or n == length - 1:
            yield "".join(out)
            out = []
