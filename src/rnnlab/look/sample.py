"""Using a trained run on streams: `rnnlab predict` (bits in, predicted bits out) and
`rnnlab sample` (text written by a text or words run)."""
from __future__ import annotations

import numpy as np

from rnnlab._tf import tf
from rnnlab.data.corpus import TextWriter, prime_ids
from rnnlab.nn.generate import generate
from rnnlab.run.checkpoint import load_trained


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
    _, model = load_trained(run_dir)

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


def sample(run_dir: str, length: int, temperature: float = 1.0, prime: str = "",
           seed: int | None = None, newest: bool = False) -> str:
    """Text written by a text or words run: `prime` is fed through the model, then
    `length` symbols are drawn one at a time from softmax(logits / temperature)."""
    return "".join(sample_stream(run_dir, length, temperature, prime, seed, newest=newest))


def sample_stream(run_dir: str, length: int, temperature: float = 1.0, prime: str = "",
                  seed: int | None = None, piece: int = 100, newest: bool = False):
    """sample(), as it is written: `prime`, then `piece` symbols at a time."""
    settings, model = load_trained(run_dir, newest)
    words, rng = settings.task.word_level, np.random.RandomState(seed)
    drawn = generate(model, prime_ids(prime, settings, words, rng), length, temperature, rng,
                     piece)
    if prime:
        yield prime
    yield from map(TextWriter(settings, words, prime), drawn)
