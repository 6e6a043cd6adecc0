"""`rnnlab export`: a trained run as a SavedModel that plain TensorFlow serves."""
from __future__ import annotations

from rnnlab._tf import tf
from rnnlab.run.checkpoint import load_trained
from rnnlab.run.writes import replacing_folder, write_error


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
    _, model = load_trained(run_dir, newest)
    stepper = Stepper(model)
    with replacing_folder(export_dir) as tmp:  # a kill leaves no half of one in its place
        try:
            tf.saved_model.save(stepper, tmp, signatures={"step": stepper.step})
        except tf.errors.OpError as err:
            raise write_error(export_dir, err) from None
    return export_dir
