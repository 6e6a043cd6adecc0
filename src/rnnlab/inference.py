"""Using a trained run: evaluate it on fresh data, predict a bit stream, export a SavedModel."""
from __future__ import annotations

import secrets

import numpy as np

from rnnlab._tf import tf
from rnnlab.checkpoint import restore_latest
from rnnlab.model import EchoRNN, tutorial_init
from rnnlab.runfiles import read_config
from rnnlab.tasks import echo_series, unpredictable_mask


def load_model(run_dir: str):
    """The run's config and its model with the newest readable checkpoint's weights."""
    config = read_config(run_dir)
    model = EchoRNN(tutorial_init(np.random.RandomState(0), config.state_size,
                                  config.num_classes))
    restore_latest(run_dir, model)
    return config, model


def forward(model: EchoRNN, x, state):
    """Run the RNN along x: [batch, L] bits, carrying `state` ([batch, S]) from step to
    step. Returns softmax outputs [L, batch, C] and the final state."""

    def step(carry, x_t):
        logits, new_state = model.step(x_t[:, None], carry[1])
        return tf.nn.softmax(logits), new_state

    batch = tf.shape(x)[0]
    init = (tf.zeros([batch, model.W2.shape[1]]), state)
    probs, states = tf.scan(step, tf.transpose(x), initializer=init)
    return probs, states[-1]


def evaluate(run_dir: str, series_length: int | None = None, seed: int | None = None) -> dict:
    """Loss and accuracy on a fresh series, state carried across windows as in training.

    Also the accuracy on the predictable positions only: the first echo_step targets of
    each row come from inputs this row never sees (SPEC.md).
    """
    config, model = load_model(run_dir)
    config = config.replace(series_length=series_length or config.series_length,
                            seed=secrets.randbelow(2**32) if seed is None else seed).validate()
    rng = np.random.RandomState(config.seed)
    x, y = echo_series(rng, config.series_length, config.echo_step, config.batch_size)
    used = config.num_windows * config.truncation  # the windows training would use
    x, y = x[:, :used], y[:, :used]
    probs, _ = tf.function(forward, jit_compile=True)(
        model, tf.constant(x, tf.float32), tf.zeros([config.batch_size, config.state_size]))
    p = np.transpose(probs.numpy(), (1, 0, 2))                  # [batch, L, C]
    p_target = np.take_along_axis(p, y[..., None], axis=-1)[..., 0]
    predicted = (p[..., 0] < 0.5).astype(y.dtype)
    right = predicted == y
    predictable = ~unpredictable_mask(config.batch_size, used, config.echo_step)
    return {"run": run_dir, "seed": int(config.seed), "series_length": config.series_length,
            "positions": int(y.size), "loss": float(-np.log(np.maximum(p_target, 1e-30)).mean()),
            "accuracy": float(right.mean()),
            "predictable_positions": int(predictable.sum()),
            "predictable_accuracy": float(right[predictable].mean())}


def predict(run_dir: str, bits: np.ndarray):
    """Per input bit: the predicted bit and its probability, state carried along the
    stream from zeros; a batch of one, any length."""
    config, model = load_model(run_dir)
    probs, _ = tf.function(forward)(model, tf.constant(bits[None, :], tf.float32),
                                    tf.zeros([1, config.state_size]))
    p = probs.numpy()[:, 0, :]                                   # [L, C]
    predicted = (p[:, 0] < 0.5).astype(np.int64)
    return predicted, p[np.arange(len(bits)), predicted]


class Stepper(tf.Module):
    """What a SavedModel serves: one step of the RNN for a batch of any size."""

    def __init__(self, model: EchoRNN):
        super().__init__(name="rnnlab_stepper")
        self.model = model
        self.state_size = tf.constant(model.state_size)
        S = model.state_size
        self.step = tf.function(self._step, input_signature=[
            tf.TensorSpec([None, 1], tf.float32, name="x"),
            tf.TensorSpec([None, S], tf.float32, name="state")])

    def _step(self, x, state):
        logits, state = self.model.step(x, state)
        return {"probabilities": tf.nn.softmax(logits), "state": state}


def export(run_dir: str, export_dir: str) -> str:
    """A SavedModel with the signature step(x [batch, 1], state [batch, S]) ->
    {probabilities [batch, C], state [batch, S]}; start from a zero state."""
    _, model = load_model(run_dir)
    stepper = Stepper(model)
    tf.saved_model.save(stepper, export_dir, signatures={"step": stepper.step})
    return export_dir
