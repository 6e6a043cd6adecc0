"""The text task: character-level language modelling on a UTF-8 file, and sampling."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import quiet_train
from rnnlab.look.sample import sample

ALICE = os.path.join(os.path.dirname(__file__), "data", "alice.txt")  # public domain (1865)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "alice"
    return quiet_train(folder, task="text", data=ALICE, cell="gru", state_size=48,
                       truncation=20, batch_size=4, epochs=30, log_every=5, seed=0, plot="file")


def test_text_run_learns_beyond_character_frequencies(text_run):
    text = open(ALICE, encoding="utf-8").read()
    counts = np.unique(list(text), return_counts=True)[1]
    p = counts / counts.sum()
    unigram = -(p * np.log(p)).sum()  # the loss of knowing only how often each character is
    assert text_run.config.num_classes == len(counts)
    assert text_run.history.epoch_loss[0] > unigram
    assert text_run.history.epoch_loss[-1] < unigram - 0.5


def test_sample_writes_characters_of_the_text(text_run):
    vocab = set(open(ALICE, encoding="utf-8").read())
    written = sample(text_run.out_dir, 80, temperature=0.5, prime="Alice ", seed=3)
    assert written.startswith("Alice ") and len(written) == 86
    assert set(written) <= vocab
    assert sample(text_run.out_dir, 80, temperature=0.5, prime="Alice ", seed=3) == written


def test_text_figure_shows_characters(text_run, tmp_path):
    from rnnlab.run import figure as viz

    snap = text_run.snapshots[-1]
    fig = viz.save_png(str(tmp_path / "f.png"), text_run.history.window_losses, snap, 20, 4,
                       text_run.config.vocab, panels="characters")
    assert len([ax for ax in fig.axes if ax.get_subplotspec() is not None]) == 6
    lines = [t.get_text() for t in fig.axes[1].texts]
    assert lines[0].startswith("input ") and len(lines[0]) == len("input  ") + 20
    written = snap.sample
    assert len(written) == 80 and set(written) <= set(text_run.config.vocab)
    assert any(t.get_text().endswith(written.replace("\n", "\u21b5")) for t in fig.texts)
    # Below the characters, each one's loss: -log P(target), from the run's snapshot.
    (inset,) = fig.axes[1].child_axes
    heights = [bar.get_height() for bar in inset.patches]
    p = snap.probs[np.arange(20), 0, snap.y[0]]
    np.testing.assert_allclose(heights, -np.log(p), rtol=1e-5)


@pytest.mark.parametrize("make, args, message", [
    (None, ["--task", "text"], "--task text needs --data FILE"),
    ("missing", ["--task", "text", "--data", "{path}"], "does not exist"),
    ("empty", ["--task", "text", "--data", "{path}"], "is empty"),
    ("latin1", ["--task", "text", "--data", "{path}"], "is not UTF-8 text"),
    ("short", ["--task", "text", "--data", "{path}"], "shorter than one window"),
    ("folder", ["--task", "text", "--data", "{path}"], "is a folder"),
    ("alice", ["--data", "{path}"], "--data does not apply to --task echo; it is for --task text or words"),
    ("alice", ["--task", "text", "--data", "{path}", "--batch-size", "0"],
     "--batch-size must be a positive integer"),
])
def test_bad_text_files_get_one_line(make, args, message, tmp_path):
    path = tmp_path / "data.txt"
    if make == "empty":
        path.write_bytes(b"")
    elif make == "latin1":
        path.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    elif make == "short":
        path.write_text("too short for a window")
    elif make == "folder":
        path.mkdir()
    elif make == "alice":
        path = ALICE
    args = [a.format(path=path) for a in args]
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli", "train", "--out",
                           str(tmp_path / "run")] + args, capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, message", [
    (["sample", "{run}", "--prime", "Zebra"], "character 'Z' at position 0 is not in the model's"),
    (["sample", "{run}", "--temperature", "0"], "--temperature must be a positive number"),
    (["sample", "{run}", "--length", "0"], "--length must be a positive integer"),
    (["eval", "{run}", "--series-length", "100000"], "--series-length does not apply"),
    (["eval", "{run}", "--seed", "3"], "--seed does not apply"),
])
def test_bad_flags_on_a_text_run(text_run, args, message):
    args = [a.format(run=text_run.out_dir) for a in args]
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli"] + args, capture_output=True,
                          text=True)
    assert done.returncode == 2 and message in done.stderr


def test_an_exported_text_model_writes_text_in_plain_tensorflow(text_run, tmp_path):
    """No rnnlab in the serving process: the SavedModel carries its vocabulary and takes
    and gives characters; the same seed writes the same text."""
    target = tmp_path / "model"
    done = subprocess.run([sys.executable, "-m", "rnnlab", "export", text_run.out_dir,
                           str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    serve = f"""
import json, sys
import tensorflow as tf
model = tf.saved_model.load({str(target)!r})
write = model.signatures["serving_default"]
texts = [write(prime=tf.constant("Alice "), length=tf.constant(60),
               temperature=tf.constant(0.6), seed=tf.constant(s, tf.int64))["text"].numpy().decode()
         for s in (1, 1, 2)]
symbols = model.signatures["symbols"](symbols=tf.constant(["A", "l", "\u263a"]),
                                      state=tf.zeros([3, 48]))
step = model.signatures["step"](x=tf.constant([[0.0], [1.0], [2.0]]), state=tf.zeros([3, 48]))
vocabulary = open({str(target / "assets" / "vocabulary.txt")!r}, encoding="utf-8").read()
assert "rnnlab" not in sys.modules
print(json.dumps({{"texts": texts, "likeliest": [s.decode() for s in symbols["likeliest"].numpy()],
                  "probabilities": symbols["probabilities"].numpy().tolist(),
                  "by_id": step["probabilities"].numpy().tolist(), "vocabulary": vocabulary}}))
"""
    done = subprocess.run([sys.executable, "-c", serve], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    vocab = text_run.config.vocab
    first, again, other = out["texts"]
    assert first == again != other and first.startswith("Alice ") and len(first) == 66
    assert set(first) <= set(vocab)
    assert set(out["likeliest"]) <= set(vocab)
    assert out["vocabulary"].splitlines() == [c.encode("unicode_escape").decode() for c in vocab]
    ids = [vocab.index(c) for c in "Al"]  # the same inputs by id and by symbol
    by_id = step_by_id(text_run, tmp_path, ids)
    np.testing.assert_allclose(out["probabilities"][:2], by_id, rtol=1e-5)
    assert sum(out["probabilities"][2]) == pytest.approx(1.0, rel=1e-5)  # unknown: zero input


def step_by_id(text_run, tmp_path, ids):
    from rnnlab.run.checkpoint import load_trained
    from rnnlab._tf import tf

    _, model = load_trained(text_run.out_dir)
    logits, _ = model.step(tf.constant(ids, tf.float32), model.zero_state(len(ids)))
    return tf.nn.softmax(logits).numpy()
