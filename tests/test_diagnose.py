"""rnnlab diagnose: gradient reach by lag (against a NumPy backward pass) and memory."""
import subprocess
import sys

import numpy as np

from helpers import quiet_train
from rnnlab.look.diagnose import WARM_UP, gradient_by_lag
from rnnlab.nn.model import RNN, init_params


def numpy_gradient_by_lag(params, x, y):
    """The vanilla cell's backward pass written out: dL/ds for each state entering a step."""
    W, b = params["cells"][0]["W"], params["cells"][0]["b"]
    W2, b2 = params["W2"], params["b2"]
    rows, total = x.shape
    h = np.zeros((rows, W.shape[1]))
    entering, after = [], []
    for t in range(total):
        entering.append(h)
        h = np.tanh(np.hstack([x[:, t:t + 1], h]) @ W + b)
        after.append(h)
    logits = h @ W2 + b2
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d_h = (p - np.eye(W2.shape[1])[y[:, -1]]) @ W2.T        # dL/d(state after the last step)
    norms = []
    for t in reversed(range(WARM_UP, total)):
        d_h = (d_h * (1 - after[t] ** 2)) @ W[1:].T          # -> dL/d(state entering step t)
        norms.append(np.linalg.norm(d_h, axis=1).mean())
    return np.array(norms)                                   # lag 0 = the last step's


def test_gradient_by_lag_matches_an_explicit_backward_pass():
    rng = np.random.RandomState(0)
    params = init_params(rng, "vanilla", 1, 6, 1, 2, "glorot")
    params["cells"][0]["W"] *= 2.0                           # a little memory to measure
    model = RNN(params, "vanilla")
    x = rng.randint(0, 2, (16, WARM_UP + 25))
    y = rng.randint(0, 2, x.shape)
    ours = gradient_by_lag(model, x, y, regression=False)
    expected = numpy_gradient_by_lag(params, x, y)
    assert len(ours) == 25
    np.testing.assert_allclose(ours, expected, rtol=2e-4)
    assert expected[-1] < expected[0]                          # and it does fade


def test_diagnose_shows_what_an_echo_network_remembers(tmp_path):
    run = quiet_train(tmp_path / "run", epochs=3, series_length=20000, state_size=8,
                      init="glorot", seed=1)
    done = subprocess.run([sys.executable, "-m", "rnnlab", "diagnose", run.out_dir,
                           "--max-lag", "20", "--series-length", "8000"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = np.genfromtxt(tmp_path / "run" / "diagnose.csv", delimiter=",", names=True)
    assert list(rows["lag"]) == list(range(21))
    assert (rows["probe_accuracy"][:4] > 0.95).all()         # lags 0..3: the echo it learnt
    assert (rows["probe_accuracy"][10:] < 0.6).all()         # far back: chance
    assert list(rows["within_truncation"]) == [1] * 15 + [0] * 6  # lags 0..14 of 0..20
    assert (tmp_path / "run" / "diagnose.png").stat().st_size > 1000
