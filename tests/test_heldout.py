"""Text held out: the split, words, validation loss each epoch, the best checkpoint,
eval on a part, learning-rate decay, and runs that resume exactly with all of it."""
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import quiet_train
from rnnlab.config import TrainConfig
from rnnlab.data.corpus import END_OF_LINE, UNKNOWN, load_corpus, part_sizes, words_of, word_vocab
from rnnlab.settings import resolve

ALICE = os.path.join(os.path.dirname(__file__), "data", "alice.txt")
TEXT = dict(task="text", data=ALICE, cell="vanilla", state_size=16, truncation=10,
            batch_size=4, log_every=5, seed=0, checkpoint_every=0)


@pytest.mark.fast
def test_the_parts_follow_each_other_and_cover_the_file():
    config = resolve(TrainConfig(task="text", data=ALICE, batch_size=4, truncation=10,
                                 val_fraction=0.1, test_fraction=0.2))
    parts = load_corpus(config)
    whole = resolve(TrainConfig(task="text", data=ALICE, batch_size=4, truncation=10,
                                val_fraction=0, test_fraction=0))
    everything = load_corpus(whole)["train"]
    sizes = [len(parts[k]) for k in ("train", "val", "test")]
    assert sizes == list(part_sizes(len(everything), 0.1, 0.2))
    assert sizes[1] == int(len(everything) * 0.1) and sizes[2] == int(len(everything) * 0.2)
    np.testing.assert_array_equal(np.concatenate([parts[k] for k in ("train", "val", "test")]),
                                  everything)
    assert config.series_length == (sizes[0] - 1) // 4 * 4  # trains on its part alone


@pytest.mark.fast
def test_words_are_whitespace_tokens_with_an_end_of_line_and_unknown_words():
    assert words_of("the king\n\nis  dead\n") == ["the", "king", END_OF_LINE, END_OF_LINE,
                                                   "is", "dead", END_OF_LINE]
    vocab = word_vocab(["b", "a", "b", "c", "a", "b"], max_vocab=3)
    assert vocab == ["b", "a", UNKNOWN]  # the most frequent, ties alphabetical, then <unk>
    assert word_vocab(["x", "y"], None) == ["x", "y", UNKNOWN]


@pytest.mark.fast
def test_held_out_words_outside_the_training_vocabulary_are_unknown(tmp_path):
    data = tmp_path / "words.txt"
    data.write_text("a b a b a b c\n" * 40 + "a zebra b\n" * 10)
    config = resolve(TrainConfig(task="words", data=str(data), batch_size=2, truncation=5,
                                 val_fraction=0.1, test_fraction=0.1))
    vocab = config.vocab.split("\n")
    assert vocab == ["a", "b", END_OF_LINE, "c", UNKNOWN] and config.num_classes == 5
    parts = load_corpus(config, words=True)
    assert vocab.index(UNKNOWN) in parts["test"]        # the zebra
    assert vocab.index(UNKNOWN) not in parts["train"]


def held_out_scores(model, settings, part):
    """Loss and accuracy along a part of the run's text, as validation and eval see it."""
    from rnnlab.nn.along import along

    stretch = settings.task.stretch(settings, part, load_corpus(settings))
    scores = along(model, stretch.x, stretch.y, settings.truncation)
    return {"loss": float(scores["loss"].mean()), "accuracy": float(scores["right"].mean())}


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("held-out") / "run"
    return quiet_train(folder, epochs=3, **TEXT)


def test_validation_loss_is_a_forward_pass_over_the_validation_part_with_the_state_carried(
        text_run):
    from rnnlab.run.checkpoint import load_trained

    config, model = load_trained(text_run.out_dir, newest=True)  # the weights after epoch 2
    ids = load_corpus(config)["val"]
    W, b = (v.numpy().astype(np.float64) for v in model.cells[0].params)
    W2, b2 = model.W2.numpy().astype(np.float64), model.b2.numpy().astype(np.float64)
    n = (len(ids) - 1) // 4 * 4                        # 4 rows, each its own part of the text
    x, y = ids[:n].reshape(4, -1), ids[1:n + 1].reshape(4, -1)
    h, losses, right = np.zeros((4, 16)), [], 0
    for t in range(x.shape[1]):
        h = np.tanh(np.hstack([np.eye(config.num_classes)[x[:, t]], h]) @ W + b)
        logits = h @ W2 + b2
        logp = logits - logits.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        losses.extend(-logp[np.arange(4), y[:, t]])
        right += int((logits.argmax(1) == y[:, t]).sum())
    scores = held_out_scores(model, config, "val")
    assert scores["loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    assert scores["accuracy"] == pytest.approx(right / n)
    assert text_run.history.val_losses[-1] == pytest.approx(np.mean(losses), rel=1e-5)


def test_each_epoch_has_its_row_and_the_best_checkpoint_is_kept(text_run):
    with open(os.path.join(text_run.out_dir, "epochs.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["epoch", "train_loss", "train_accuracy", "val_loss",
                             "val_accuracy", "learning_rate", "seconds"]
    val = [float(r["val_loss"]) for r in rows]
    assert val == pytest.approx(text_run.history.val_losses, rel=1e-5)
    assert all(float(r["learning_rate"]) == 0.3 for r in rows)
    from rnnlab.run.checkpoint import BEST_DIR, checkpoint_paths, restore_latest
    from rnnlab.run.checkpoint import load_trained

    assert len(checkpoint_paths(text_run.out_dir, BEST_DIR)) == 1
    _, model = load_trained(text_run.out_dir)
    best = restore_latest(text_run.out_dir, model, best=True)
    assert best.best_loss == pytest.approx(min(val), rel=1e-5)
    assert best.epoch == 1 + int(np.argmin(val))


def test_eval_reports_a_part_in_nats_bits_and_perplexity(text_run):
    done = subprocess.run([sys.executable, "-m", "rnnlab", "eval", text_run.out_dir, "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["split"] == "test"  # the default where the run holds one out
    assert result["bits_per_symbol"] == pytest.approx(result["loss"] / np.log(2))
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]))
    assert 0 <= result["accuracy"] <= 1
    on_val = json.loads(subprocess.run([sys.executable, "-m", "rnnlab", "eval",
                                        text_run.out_dir, "--json", "--split", "val",
                                        "--newest"], capture_output=True, text=True).stdout)
    assert on_val["loss"] == pytest.approx(text_run.history.val_losses[-1], rel=1e-5)


@pytest.mark.fast
def test_a_loss_that_does_not_improve_decays_the_rate_and_only_improvements_are_kept():
    from rnnlab.run.observers import Improvement
    from rnnlab.run.records import Progress

    saved = []

    class Checkpoints:
        def save(self, progress, best=False):
            saved.append((len(progress.val_losses), best))

    watcher = Improvement(TrainConfig(lr_decay=0.25), Checkpoints())
    progress = Progress.start(3, [np.zeros((1, 2))])
    scales = []
    for val in (1.0, 0.8, 0.9, 0.7):
        progress.losses.append(np.ones(3))
        progress.val_losses.append(val)
        watcher.epoch_done(progress, None)
        scales.append(progress.rate_scale)
    assert scales == [1.0, 1.0, 0.25, 0.25]
    assert saved == [(1, True), (2, True), (4, True)] and progress.best_loss == 0.7


def resume_equals_straight(tmp_path, epochs: int, stop: int, **settings):
    from rnnlab.run.training import resume

    straight = quiet_train(tmp_path / "straight", epochs=epochs, **settings)
    quiet_train(tmp_path / "stopped", epochs=stop, **settings)
    resumed = resume(str(tmp_path / "stopped"), epochs=epochs, stdout=io.StringIO())
    for name in ("metrics.csv", "epochs.csv"):
        a, b = ((tmp_path / run / name).read_text() for run in ("straight", "stopped"))
        if name == "epochs.csv":  # all but the seconds
            a, b = ([row.rsplit(",", 1)[0] for row in text.splitlines()] for text in (a, b))
        assert a == b, name
    return straight, resumed


def test_resume_with_adam_clipping_decay_dropout_and_an_embedding_is_exact(tmp_path):
    straight, resumed = resume_equals_straight(
        tmp_path, 6, 3, **{**TEXT, "optimizer": "adam", "clip": 0.5, "lr_decay": 0.5,
                           "learning_rate": 0.1, "dropout": 0.2, "embedding": 8,
                           "layers": 2})
    assert resumed.history.learning_rates == straight.history.learning_rates
    assert len(set(straight.history.learning_rates)) > 1  # the rate did decay here


def test_a_run_from_before_held_out_parts_trains_on_the_whole_file_and_resumes(tmp_path,
                                                                                monkeypatch):
    """config.json without val_fraction and test_fraction: the whole file, as before. (Its
    checkpoint, as those of that time, does not know its settings: a key deleted from a
    newer run's config.json is refused, tests/test_trained_with.py.)"""
    from rnnlab import settings as run_settings

    check = run_settings.check_against_checkpoint
    monkeypatch.setattr(run_settings, "check_against_checkpoint",
                        lambda settings, trained_with, *a, **k: check(settings, "", *a, **k))
    settings = {**TEXT, "val_fraction": 0.0, "test_fraction": 0.0}
    quiet_train(tmp_path / "straight", epochs=3, **settings)
    quiet_train(tmp_path / "stopped", epochs=2, **settings)
    path = tmp_path / "stopped" / "config.json"
    old = {k: v for k, v in json.loads(path.read_text()).items()
           if k not in ("val_fraction", "test_fraction", "optimizer", "clip", "lr_decay",
                        "dropout", "embedding", "max_vocab")}
    path.write_text(json.dumps(old))
    from rnnlab.run.training import resume

    resume(str(tmp_path / "stopped"), epochs=3, stdout=io.StringIO())
    assert ((tmp_path / "stopped" / "metrics.csv").read_bytes() ==
            (tmp_path / "straight" / "metrics.csv").read_bytes())


def test_a_part_the_run_does_not_hold_out_is_named(tmp_path, capsys):
    from rnnlab.cli import main

    run = quiet_train(tmp_path / "run", epochs=1, **{**TEXT, "val_fraction": 0.0})
    assert main(["eval", run.out_dir, "--split", "val"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnlab: error: run {run.out_dir!r} holds no val part of its file (--val-fraction 0); "
        f"try --split train")


def test_dropout_is_drawn_from_the_seed_and_off_in_eval(tmp_path):
    from rnnlab.run.checkpoint import load_trained

    settings = {**TEXT, "cell": "gru", "layers": 2, "dropout": 0.5}
    runs = [quiet_train(tmp_path / name, epochs=2, **{**settings, **extra})
            for name, extra in (("a", {}), ("b", {}), ("c", {"seed": 1}), ("d", {"dropout": 0.0}))]
    metrics = [(tmp_path / name / "metrics.csv").read_bytes() for name in "abcd"]
    assert metrics[0] == metrics[1]                      # the same seed, the same masks
    assert metrics[0] != metrics[2] and metrics[0] != metrics[3]
    config, model = load_trained(runs[0].out_dir)
    scores = held_out_scores(model, config, "val")
    assert model.dropout == 0.5 and held_out_scores(model, config, "val") == scores
    model.dropout = 0.0  # what eval computes is the plain forward pass
    assert held_out_scores(model, config, "val") == scores


def test_a_words_model_trains_evaluates_in_perplexity_and_writes_words(tmp_path):
    data = tmp_path / "words.txt"
    lines = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"]
    data.write_text("\n".join(lines * 60) + "\n")
    run = quiet_train(tmp_path / "run", task="words", data=str(data), cell="lstm",
                      state_size=24, embedding=16, truncation=8, batch_size=4, epochs=6,
                      optimizer="adam", learning_rate=0.02, seed=0, log_every=20)
    vocab = run.config.vocab.split("\n")
    assert "<eos>" in vocab and "<unk>" in vocab and "cat" in vocab
    assert run.history.val_losses[-1] < np.log(len(vocab)) - 1.0  # far better than guessing
    done = subprocess.run([sys.executable, "-m", "rnnlab", "eval", run.out_dir, "--json"],
                          capture_output=True, text=True)
    result = json.loads(done.stdout)
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]))
    from rnnlab.look.sample import sample

    written = sample(run.out_dir, 30, temperature=0.5, prime="the cat", seed=1)
    assert written.startswith("the cat")
    assert set(written.split()) <= set(vocab) - {"<eos>"}
