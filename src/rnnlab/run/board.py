"""TensorBoard scalars of a run: loss and accuracy per window and per epoch."""
from __future__ import annotations

import os
import socket
import time

import numpy as np

from rnnlab._tf import tf
from rnnlab.run.writes import write_error
from tensorflow.core.framework import summary_pb2  # TensorBoard's format, as TensorFlow
from tensorflow.core.util import event_pb2         # itself writes it (after rnnlab._tf)


class TensorBoardLog:
    """An event file that TensorBoard reads, written with TensorFlow's own event and
    summary protobufs through its C++ record writer (so writing needs no tensorboard
    package; viewing does).

    A tutorial epoch has 1332 window scalars; tf.summary writes them at ~16 us each
    (about a whole epoch's training time), this at ~3 us, a window's two in one event.
    """

    def __init__(self, logdir: str):
        name = f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}.{os.getpid()}"
        self.path = os.path.join(logdir, name)
        try:
            os.makedirs(logdir, exist_ok=True)
            self.records = tf.io.TFRecordWriter(self.path)
        except (tf.errors.OpError, OSError) as err:
            raise write_error(self.path, err) from None
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event) -> None:
        try:
            self.records.write(event.SerializeToString())
        except tf.errors.OpError as err:
            raise write_error(self.path, err) from None

    def _scalars(self, step: int, wall_time: float, **tagged) -> None:
        values = [summary_pb2.Summary.Value(tag=tag.replace("__", "/"), simple_value=value)
                  for tag, value in tagged.items()]
        self._write(event_pb2.Event(wall_time=wall_time, step=step,
                                    summary=summary_pb2.Summary(value=values)))

    def write_epoch(self, epoch: int, losses: np.ndarray, accuracies: np.ndarray,
                    extra: dict | None = None) -> None:
        """The epoch's window scalars, its means, and `extra` epoch scalars (tag__name: value)."""
        now, first = time.time(), epoch * len(losses)
        for i, (loss, accuracy) in enumerate(zip(losses.tolist(), accuracies.tolist())):
            if loss == loss:  # NaN: a window without targets (adding task) has nothing to log
                self._scalars(first + i, now, window__loss=loss, window__accuracy=accuracy)
        self._scalars(epoch, now, epoch__loss=float(np.nanmean(losses)),
                      epoch__accuracy=float(np.nanmean(accuracies)), **(extra or {}))
        try:
            self.records.flush()
        except tf.errors.OpError as err:
            raise write_error(self.path, err) from None

    def close(self, quietly: bool = False) -> None:
        """Close the file. `quietly`, when a run stops for another reason: what could
        not be written by now is lost without a second error."""
        try:
            self.records.close()
        except tf.errors.OpError as err:
            if not quietly:
                raise write_error(self.path, err) from None
