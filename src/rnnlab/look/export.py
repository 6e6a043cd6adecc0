"""`rnnlab export`: a trained run as a SavedModel that plain TensorFlow serves, no rnnlab
needed. Every run's has `step`, one step of the network; a text or words run's also
carries its vocabulary (assets/vocabulary.txt, one symbol a line) and takes and gives
text: `symbols` steps on characters or words given as strings, and `generate`, its
`serving_default`, writes text after a prime."""
from __future__ import annotations

import os
import tempfile

from rnnlab._tf import tf
from rnnlab.data.corpus import END_OF_LINE, symbols_of_vocab
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


class TextStepper(Stepper):
    """A text or words run's SavedModel: `step` on ids, and on the symbols themselves.

    symbols(symbols [batch] strings, state) -> {probabilities, likeliest [batch] strings,
    state}: a character (or word) a row; one the model does not know is <unk> for words,
    and for characters a zero input.
    generate(prime [] string, length [] int32, temperature [] float32, seed [] int64) ->
    {text [] string}: the prime, then `length` symbols drawn one at a time from
    softmax(logits / temperature), each fed back in, from a zero state (words: written
    with spaces between them, <eos> as a line's end). The same seed writes the same text.
    """

    def __init__(self, model, symbols: list, words: bool, vocabulary_file: str):
        super().__init__(model)
        self.words = words
        self.vocabulary_file = tf.saved_model.Asset(vocabulary_file)
        self.vocabulary = tf.constant(symbols)
        unknown = symbols.index("<unk>") if "<unk>" in symbols else -1
        self.ids = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            self.vocabulary, tf.range(len(symbols), dtype=tf.int64)), default_value=unknown)
        self.symbols = tf.function(self._symbols, input_signature=[
            tf.TensorSpec([None], tf.string, name="symbols"),
            tf.TensorSpec([None, sum(self.widths)], tf.float32, name="state")])
        self.generate = tf.function(self._generate, input_signature=[
            tf.TensorSpec([], tf.string, name="prime"), tf.TensorSpec([], tf.int32, name="length"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int64, name="seed")])

    def _symbols(self, symbols, state):
        ids = self.ids.lookup(symbols)
        logits, state = self.model.step(self._input(ids), tuple(tf.split(state, self.widths, 1)))
        likeliest = tf.gather(self.vocabulary, tf.argmax(logits, axis=-1))
        return {"probabilities": tf.nn.softmax(logits), "likeliest": likeliest,
                "state": tf.concat(state, axis=1)}

    def _input(self, ids):
        """Ids [batch] as the model reads them: a character it does not know (-1), as a
        zero row (one-hot of nothing), else its id."""
        known = ids >= 0
        x = tf.cast(tf.where(known, ids, 0), tf.float32)
        if self.model.E is None and self.model.num_inputs > 1:
            return tf.one_hot(tf.cast(x, tf.int32), self.model.num_inputs) * tf.cast(
                known, tf.float32)[:, None]
        return x

    def _generate(self, prime, length, temperature, seed):
        pieces = tf.strings.split(prime) if self.words else tf.strings.unicode_split(prime, "UTF-8")
        ids = self.ids.lookup(pieces)
        ids = tf.concat([tf.zeros([1], tf.int64), ids], 0)  # symbol 0 first: a prime of none
        state = tuple(tf.zeros([1, w]) for w in self.widths)

        def feed(i, state):
            _, state = self.model.step(self._input(ids[i][None]), state)
            return i + 1, state

        _, state = tf.while_loop(lambda i, *_: i < tf.size(ids) - 1, feed, (tf.constant(1), state))
        state = tuple(state)

        def draw(i, current, state, drawn):
            logits, state = self.model.step(self._input(current[None]), state)
            choice = tf.random.stateless_categorical(logits / temperature, 1,
                                                     seed=tf.stack([seed, tf.cast(i, tf.int64)]),
                                                     dtype=tf.int64)[0, 0]
            return i + 1, choice, state, drawn.write(i, choice)

        drawn = tf.TensorArray(tf.int64, size=length)
        _, _, _, drawn = tf.while_loop(lambda i, *_: i < length, draw,
                                       (tf.constant(0), ids[-1], state, drawn))
        written = tf.gather(self.vocabulary, drawn.stack())
        if self.words:
            text = tf.strings.reduce_join(written, separator=" ")
            text = tf.strings.regex_replace(text, f" ?{END_OF_LINE} ?", "\n")
            joiner = tf.where(tf.strings.length(prime) > 0, " ", "")
            return {"text": tf.strings.join([prime, joiner, text])}
        return {"text": tf.strings.join([prime, tf.strings.reduce_join(written)])}


def export(run_dir: str, export_dir: str, newest: bool = False) -> str:
    """A SavedModel with the signature step(x [batch, 1], state [batch, width]) ->
    {probabilities [batch, C], state [batch, width]} (adding task: x [batch, 2] ->
    {prediction [batch], state}); start from a zero state (width: the model's
    `state_width`, the state size for the vanilla cell). A text or words run's also has
    `symbols` and `generate` (its serving_default; TextStepper). A SavedModel that
    cannot be written whole (a full disk) leaves no part of it: WriteError."""
    settings, model = load_trained(run_dir, newest)
    with tempfile.TemporaryDirectory() as scratch, replacing_folder(export_dir) as tmp:
        if settings.task.writes_text:
            words = settings.task.word_level
            symbols = symbols_of_vocab(settings, words)
            vocabulary = os.path.join(scratch, "vocabulary.txt")
            with open(vocabulary, "w", encoding="utf-8") as f:  # characters: \n is "\n"
                f.write("".join(s.encode("unicode_escape").decode("ascii") + "\n"
                                for s in symbols))
            stepper = TextStepper(model, symbols, words, vocabulary)
            signatures = {"step": stepper.step, "symbols": stepper.symbols,
                          "generate": stepper.generate, "serving_default": stepper.generate}
        else:
            stepper = Stepper(model)
            signatures = {"step": stepper.step, "serving_default": stepper.step}
        try:
            tf.saved_model.save(stepper, tmp, signatures=signatures)
        except tf.errors.OpError as err:
            raise write_error(export_dir, err) from None
    return export_dir
