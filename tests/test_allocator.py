"""TensorFlow's CPU memory comes from the BFC allocator, which reuses what it took
(_tf.py; benchmarks/allocator.py times it): a user's own setting wins, and the allocator
never changes what a run computes."""
import os
import subprocess
import sys

import pytest

PROBE = """
from rnnlab._tf import tf
x = tf.random.normal([256, 256])
y = x @ x
try:
    print("peak", tf.config.experimental.get_memory_info("CPU:0")["peak"])
except ValueError:  # malloc keeps no statistics
    print("malloc")
"""


def allocator(**env) -> str:
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def test_rnnlab_uses_the_bfc_allocator_unless_the_user_said_otherwise():
    assert allocator(TF_CPU_ALLOCATOR_USE_BFC=None, TF_CPU_BFC_MEM_LIMIT_IN_MB=None) == "peak"
    assert allocator(TF_CPU_ALLOCATOR_USE_BFC="false") == "malloc"


@pytest.mark.parametrize("run", [
    ["--epochs", "3", "--seed", "3"],  # the tutorial
    ["--task", "text", "--data", os.path.join(os.path.dirname(__file__), "data", "alice.txt"),
     "--cell", "lstm", "--layers", "2", "--state-size", "32", "--epochs", "1", "--seed", "1"],
], ids=["tutorial", "text"])
def test_either_allocator_computes_the_same_run(run, tmp_path):
    metrics = []
    for use_bfc in ("true", "false"):
        out = tmp_path / use_bfc
        env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": use_bfc, "RNNLAB_XLA_CACHE": "off"}
        done = subprocess.run([sys.executable, "-m", "rnnlab", "train", *run, "--plot", "none",
                               "--out", str(out)], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        metrics.append((out / "metrics.csv").read_bytes())
    assert metrics[0] == metrics[1]
