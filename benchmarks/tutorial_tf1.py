"""The tutorial program as written, on TensorFlow 2 through tf.compat.v1 graph mode.

Only the changes docs/tutorial.md lists: the omitted line (`next_state = tanh(...)`), and the
renamed TF 0.x calls (tf.unpack -> tf.unstack, tf.concat's argument order,
keyword arguments to sparse_softmax_cross_entropy_with_logits,
initialize_all_variables -> global_variables_initializer). The graph is built in its
own tf.Graph, so this runs beside eager code in one process. Besides the benchmark,
tests use it as the reference that rnnlab's run must match.

`seed` seeds numpy's global generator as `np.random.seed(seed)` would before the
tutorial's script; `plot` calls the tutorial's plot function (on whatever matplotlib
backend is active) every 100 windows.
"""
from __future__ import annotations

import time

import numpy as np


def run_tutorial(seed: int, num_epochs: int = 100, total_series_length: int = 50000,
                 truncated_backprop_length: int = 15, state_size: int = 4,
                 echo_step: int = 3, batch_size: int = 5, learning_rate: float = 0.3,
                 num_batches: int | None = None, plot: bool = False, quiet: bool = True):
    """Returns (loss_list, seconds per epoch)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    np.random.seed(seed)
    num_classes = 2
    if num_batches is None:
        num_batches = total_series_length // batch_size // truncated_backprop_length

    def generateData():
        x = np.array(np.random.choice(2, total_series_length, p=[0.5, 0.5]))
        y = np.roll(x, echo_step)
        y[0:echo_step] = 0
        x = x.reshape((batch_size, -1))
        y = y.reshape((batch_size, -1))
        return (x, y)

    graph = tf.Graph()
    with graph.as_default():
        batchX_placeholder = tf1.placeholder(tf.float32, [batch_size, truncated_backprop_length])
        batchY_placeholder = tf1.placeholder(tf.int32, [batch_size, truncated_backprop_length])
        init_state = tf1.placeholder(tf.float32, [batch_size, state_size])

        W = tf1.Variable(np.random.rand(state_size + 1, state_size), dtype=tf.float32)
        b = tf1.Variable(np.zeros((1, state_size)), dtype=tf.float32)
        W2 = tf1.Variable(np.random.rand(state_size, num_classes), dtype=tf.float32)
        b2 = tf1.Variable(np.zeros((1, num_classes)), dtype=tf.float32)

        inputs_series = tf.unstack(batchX_placeholder, axis=1)
        labels_series = tf.unstack(batchY_placeholder, axis=1)

        current_state = init_state
        states_series = []
        for current_input in inputs_series:
            current_input = tf.reshape(current_input, [batch_size, 1])
            input_and_state_concatenated = tf.concat([current_input, current_state], 1)
            next_state = tf.tanh(tf.matmul(input_and_state_concatenated, W) + b)  # the omitted line
            states_series.append(next_state)
            current_state = next_state

        logits_series = [tf.matmul(state, W2) + b2 for state in states_series]
        predictions_series = [tf.nn.softmax(logits) for logits in logits_series]
        losses = [tf.nn.sparse_softmax_cross_entropy_with_logits(logits=logits, labels=labels)
                  for logits, labels in zip(logits_series, labels_series)]
        total_loss = tf.reduce_mean(losses)
        train_step = tf1.train.AdagradOptimizer(learning_rate).minimize(total_loss)
        init = tf1.global_variables_initializer()

    if plot:
        import matplotlib.pyplot as plt

    def plot_fn(loss_list, predictions_series, batchX, batchY):
        plt.subplot(2, 3, 1)
        plt.cla()
        plt.plot(loss_list)
        for batch_series_idx in range(5):
            one_hot_output_series = np.array(predictions_series)[:, batch_series_idx, :]
            single_output_series = np.array([(1 if out[0] < 0.5 else 0)
                                             for out in one_hot_output_series])
            plt.subplot(2, 3, batch_series_idx + 2)
            plt.cla()
            plt.axis([0, truncated_backprop_length, 0, 2])
            left_offset = range(truncated_backprop_length)
            plt.bar(left_offset, batchX[batch_series_idx, :], width=1, color="blue")
            plt.bar(left_offset, batchY[batch_series_idx, :] * 0.5, width=1, color="red")
            plt.bar(left_offset, single_output_series * 0.3, width=1, color="green")
        plt.draw()
        plt.pause(0.0001)

    seconds = []
    with tf1.Session(graph=graph) as sess:
        sess.run(init)
        if plot:
            plt.ion()
            plt.figure()
            plt.show()
        loss_list = []
        for epoch_idx in range(num_epochs):
            started = time.perf_counter()
            x, y = generateData()
            _current_state = np.zeros((batch_size, state_size))
            if not quiet:
                print("New data, epoch", epoch_idx)
            for batch_idx in range(num_batches):
                start_idx = batch_idx * truncated_backprop_length
                end_idx = start_idx + truncated_backprop_length
                batchX = x[:, start_idx:end_idx]
                batchY = y[:, start_idx:end_idx]
                _total_loss, _train_step, _current_state, _predictions_series = sess.run(
                    [total_loss, train_step, current_state, predictions_series],
                    feed_dict={batchX_placeholder: batchX, batchY_placeholder: batchY,
                               init_state: _current_state})
                loss_list.append(_total_loss)
                if batch_idx % 100 == 0:
                    if not quiet:
                        print("Step", batch_idx, "Loss", _total_loss)
                    if plot:
                        plot_fn(loss_list, _predictions_series, batchX, batchY)
            seconds.append(time.perf_counter() - started)
        if plot:
            plt.ioff()
            plt.close("all")
    return np.array(loss_list, dtype=np.float32), seconds
