"""The optimizers compute what Keras's compute, update for update; clipping bounds the norm."""
import numpy as np
import pytest

from rnnlab._tf import tf
from rnnlab.nn.optim import Adagrad, clip_by_global_norm, make_optimizer

KERAS = {"sgd": lambda keras, lr: keras.optimizers.SGD(lr),
         "momentum": lambda keras, lr: keras.optimizers.SGD(lr, momentum=0.9),
         "rmsprop": lambda keras, lr: keras.optimizers.RMSprop(lr),
         "adam": lambda keras, lr: keras.optimizers.Adam(lr)}


@pytest.mark.parametrize("name", list(KERAS))
def test_each_update_equals_keras_on_the_same_gradients(name):
    import keras

    rng = np.random.RandomState(0)
    start = [rng.randn(5, 4).astype(np.float32), rng.randn(1, 4).astype(np.float32)]
    grads = [[rng.randn(*w.shape).astype(np.float32) for w in start] for _ in range(5)]
    ours = [tf.Variable(w) for w in start]
    theirs = [keras.Variable(w) for w in start]
    optimizer = make_optimizer(name, ours)
    reference = KERAS[name](keras, 0.05)
    for step, g in enumerate(grads, start=1):
        optimizer.apply([tf.constant(x) for x in g], ours, tf.constant(0.05), step)
        reference.apply([tf.constant(x) for x in g], theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert not np.allclose(ours[0].numpy(), start[0])


def test_adagrad_is_tf1s_written_out():
    w = tf.Variable([1.0, -2.0])
    optimizer = Adagrad([w])
    g = tf.constant([0.5, 0.25])
    optimizer.apply([g], [w], tf.constant(0.3), 1)
    acc = 0.1 + np.array([0.5, 0.25]) ** 2
    np.testing.assert_allclose(w.numpy(), [1.0, -2.0] - 0.3 * np.array([0.5, 0.25]) / np.sqrt(acc),
                               rtol=1e-6)


def test_a_population_updates_each_member_at_its_own_rate():
    w = tf.Variable(np.ones((3, 2, 2), np.float32))
    make_optimizer("sgd", [w]).apply([tf.ones((3, 2, 2))], [w], tf.constant([0.1, 0.2, 0.3]), 1)
    np.testing.assert_allclose(w.numpy()[:, 0, 0], [0.9, 0.8, 0.7], rtol=1e-6)


def test_clipping_bounds_the_global_norm_and_keeps_directions():
    rng = np.random.RandomState(1)
    grads = [tf.constant(rng.randn(4, 3) * 10), tf.constant(rng.randn(3) * 10)]
    clipped = clip_by_global_norm(grads, 5.0)
    norm = np.sqrt(sum(np.sum(g.numpy() ** 2) for g in clipped))
    assert norm == pytest.approx(5.0, rel=1e-6)
    np.testing.assert_allclose(clipped[0].numpy() / grads[0].numpy(),
                               clipped[1].numpy()[0] / grads[1].numpy()[0])
    small = [g / 100 for g in grads]
    for a, b in zip(clip_by_global_norm(small, 5.0), small):
        np.testing.assert_allclose(a.numpy(), b.numpy())  # under the bound: untouched


def test_a_population_is_clipped_member_by_member():
    big, small = np.full((2, 2), 10.0), np.full((2, 2), 0.1)
    grads = [tf.constant(np.stack([big, small]))]        # [P=2, 2, 2]
    clipped = clip_by_global_norm(grads, 1.0, member_axis=True)[0].numpy()
    assert np.linalg.norm(clipped[0]) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(clipped[1], small)
