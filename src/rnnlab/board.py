"""TensorBoard scalars of a run: loss and accuracy per window and per epoch."""
from __future__ import annotations

import os
import socket
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2

from rnnlab._tf import tf


class TensorBoardLog:
    """An event file that TensorBoard reads, written with TensorBoard's own protobufs
    through TensorFlow's C++ record writer.

    A tutorial epoch has 1332 window scalars; tf.summary writes them at ~16 us each
    (about a whole epoch's training time), this at ~3 us, a window's two in one event.
    """

    def __init__(self, logdir: str):
        os.makedirs(logdir, exist_ok=True)
        name = f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}.{os.getpid()}"
        self.records = tf.io.TFRecordWriter(os.path.join(logdir, name))
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event) -> None:
        self.records.write(event.SerializeToString())

    def _scalars(self, step: int, wall_time: float, **tagged) -> None:
        values = [summary_pb2.Summary.Value(tag=tag.replace("__", "/"), simple_value=value)
                  for tag, value in tagged.items()]
        self._write(event_pb2.Event(wall_time=wall_time, step=step,
                                    summary=summary_pb2.Summary(value=values)))

    def write_epoch(self, epoch: int, losses: np.ndarray, accuracies: np.ndarray) -> None:
        now, first = time.time(), epoch * len(losses)
        for i, (loss, accuracy) in enumerate(zip(losses.tolist(), accuracies.tolist())):
            if loss == loss:  # NaN: a window without targets (adding task) has nothing to log
                self._scalars(first + i, now, window__loss=loss, window__accuracy=accuracy)
        self._scalars(epoch, now, epoch__loss=float(np.nanmean(losses)),
                      epoch__accuracy=float(np.nanmean(accuracies)))
        self.records.flush()

    def close(self) -> None:
        self.records.close()
