"""A window's loss and what counts as right: cross-entropy over classes, or squared
error for a number (the adding task) where a target exists."""
from __future__ import annotations

from rnnlab._tf import tf


def masked_mean_loss(logits, labels, loss_from: int, axis=None):
    """Mean cross-entropy over the window's steps from `loss_from` on, and its rows
    (over `axis` only, when a population keeps one loss per member)."""
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(losses[loss_from:], axis=axis)


def squared_error_loss(outputs, targets, loss_from: int, axis=None):
    """Mean squared error over the targets that exist (not NaN) in steps loss_from.. of
    the window; 0, with zero gradients, for a window without any.

    outputs [T, batch, 1], targets [T, batch] (a population: [T, P, batch, ...]; `axis`
    as in masked_mean_loss). The NaNs are replaced before the subtraction: masking
    afterwards would still send NaN * 0 = NaN into the gradients.
    """
    targets, outputs = targets[loss_from:], outputs[loss_from:, ..., 0]
    present = tf.math.is_finite(targets)
    errors = tf.where(present, outputs - tf.where(present, targets, 0.0), 0.0)
    count = tf.reduce_sum(tf.cast(present, outputs.dtype), axis=axis)
    return tf.reduce_sum(errors * errors, axis=axis) / tf.maximum(count, 1.0)


def correct_predictions(logits, targets, tolerance: float | None = None):
    """Where the model is right: the most likely class (for bits, the tutorial's 1 when
    P(class 0) < 0.5), or, for a number (`tolerance` given), within `tolerance` of the
    target (a missing target, NaN, compares false)."""
    if tolerance is not None:
        return tf.abs(logits[..., 0] - targets) < tolerance
    return tf.argmax(logits, axis=-1, output_type=tf.int32) == targets
