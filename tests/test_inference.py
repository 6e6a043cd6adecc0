"""Using a trained run: eval, predict, export, and what it logged for TensorBoard."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import numpy_bptt
from helpers import quiet_train
from rnnlab.look.evaluate import evaluate
from rnnlab.look.sample import predict
from rnnlab.run.checkpoint import load_trained


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "run"
    quiet_train(folder, epochs=3, series_length=50000, seed=1)
    return folder


def test_eval_on_fresh_data(trained):
    result = evaluate(str(trained), series_length=20000, seed=7)
    assert result["positions"] == 20000
    assert result["predictable_positions"] == result["positions"] - 5 * 3
    assert result["accuracy"] > 0.99 and result["loss"] < 0.05
    assert result["predictable_accuracy"] >= result["accuracy"]
    assert evaluate(str(trained), series_length=20000, seed=7) == result  # same seed, same data


def test_eval_cli_json(trained):
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli", "eval", str(trained), "--json",
                           "--seed", "3"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["seed"] == 3 and set(result) >= {"loss", "accuracy", "predictable_accuracy"}


def test_predict_carries_state_along_a_stream_of_any_length(trained):
    bits = np.random.RandomState(0).randint(0, 2, 1234)
    predicted, probability = predict(str(trained), bits)
    assert predicted.shape == probability.shape == (1234,)
    np.testing.assert_array_equal(predicted[3:], bits[:-3])  # it learned the echo
    _, model = load_trained(str(trained))
    params = {k: v.numpy().astype(np.float64) for k, v in zip(("W", "b", "W2", "b2"), model.params)}
    _, ps = numpy_bptt.forward(params, bits[None, :], np.zeros((1, model.state_size)))
    reference = np.array([p[0, 1] for p in ps])
    np.testing.assert_allclose(np.where(predicted == 1, probability, 1 - probability),
                               reference, rtol=1e-4, atol=1e-5)


def test_export_serves_step_in_a_fresh_process_without_rnnlab(trained, tmp_path):
    bits = "011010011101000101"
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli", "predict", str(trained), "--json"],
                          input=bits, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    export_dir = tmp_path / "served"
    done = subprocess.run([sys.executable, "-m", "rnnlab.cli", "export", str(trained),
                           str(export_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    serve = f"""
import json, sys
import tensorflow as tf
step = tf.saved_model.load({str(export_dir)!r}).signatures["step"]
state = tf.zeros([1, 4])
rows = []
for b in {bits!r}:
    out = step(x=tf.constant([[float(b)]]), state=state)
    state = out["state"]
    p = out["probabilities"].numpy()[0]
    k = int(p[0] < 0.5)
    rows.append({{"input": int(b), "predicted": k, "probability": float(p[k])}})
assert "rnnlab" not in sys.modules
print(json.dumps(rows))
"""
    done = subprocess.run([sys.executable, "-c", serve], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    served = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["predicted"] for r in served] == [r["predicted"] for r in expected]
    np.testing.assert_allclose([r["probability"] for r in served],
                               [r["probability"] for r in expected], rtol=1e-5)


def test_tensorboard_scalars_match_metrics(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    board = EventAccumulator(str(trained / "tensorboard"), size_guidance={"scalars": 0})
    board.Reload()
    with open(trained / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    losses = board.Scalars("window/loss")
    assert len(losses) == len(rows) == 3 * 666
    assert [e.step for e in losses] == list(range(len(rows)))
    np.testing.assert_allclose([e.value for e in losses], [float(r["loss"]) for r in rows], rtol=1e-6)
    assert len(board.Scalars("window/accuracy")) == len(rows)
    epochs = board.Scalars("epoch/accuracy")
    assert [e.step for e in epochs] == [0, 1, 2] and epochs[-1].value > 0.99


def test_eval_predict_and_export_need_no_matplotlib(trained, tmp_path):
    """They read a checkpoint and run the model: nothing of the figures is loaded."""
    code = f"""
import sys
sys.modules["matplotlib"] = None  # any import of it now fails
from rnnlab.cli import main
assert main(["eval", {str(trained)!r}, "--seed", "1", "--series-length", "1000"]) == 0
assert main(["predict", {str(trained)!r}, "--bits", "0110"]) == 0
assert main(["export", {str(trained)!r}, {str(tmp_path / "served")!r}]) == 0
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "served" / "saved_model.pb").exists()
