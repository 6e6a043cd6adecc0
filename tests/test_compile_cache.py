"""XLA's compiled programs are kept across runs (a faster start), and a cache that is
damaged or cannot be written never fails a run nor changes its numbers."""
import glob
import os
import subprocess
import sys

import pytest

RUN = ["train", "--epochs", "2", "--series-length", "5000", "--seed", "4", "--plot", "none"]


def rnnlab(cache, out, *extra):
    env = {**os.environ, "RNNLAB_XLA_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "rnnlab", *RUN, "--out", str(out), *extra],
                          capture_output=True, text=True, env=env, timeout=300)


def programs(cache):
    return sorted(glob.glob(os.path.join(cache, "*", "*")))


def test_a_second_run_loads_the_compiled_program_and_computes_the_same(tmp_path):
    cache = tmp_path / "cache"
    first = rnnlab(cache, tmp_path / "a")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    (program,) = programs(cache)
    written = os.stat(program).st_mtime_ns
    second = rnnlab(cache, tmp_path / "b")
    assert second.returncode == 0 and second.stderr == "", second.stderr  # loading logs nothing
    assert programs(cache) == [program] and os.stat(program).st_mtime_ns == written
    assert rnnlab("off", tmp_path / "c").returncode == 0  # no cache at all
    metrics = [(tmp_path / r / "metrics.csv").read_bytes() for r in "abc"]
    assert metrics[0] == metrics[1] == metrics[2]
    # The learning rate is an input of the program: another rate, the same program.
    other = rnnlab(cache, tmp_path / "d", "--learning-rate", "0.1")
    assert other.returncode == 0 and programs(cache) == [program]
    assert (tmp_path / "d" / "metrics.csv").read_bytes() != metrics[0]
    # Another state size is another program: no stale hit.
    other = rnnlab(cache, tmp_path / "e", "--state-size", "5")
    assert other.returncode == 0 and len(programs(cache)) == 2


def test_a_damaged_program_is_compiled_afresh(tmp_path):
    cache = tmp_path / "cache"
    assert rnnlab(cache, tmp_path / "a").returncode == 0
    (program,) = programs(cache)
    with open(program, "r+b") as f:
        f.truncate(os.path.getsize(program) // 3)
    done = rnnlab(cache, tmp_path / "b")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"rnnlab: a compiled program in {os.path.dirname(program)} could not be loaded; "
        f"compiling afresh"]
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
    assert rnnlab(cache, tmp_path / "c").stderr == ""  # and the next run has a good one again


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would go")
    done = rnnlab(blocked / "xla", tmp_path / "a")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert (tmp_path / "a" / "metrics.csv").exists()


@pytest.mark.fast
def test_the_oldest_programs_go_first_when_the_cache_is_full(tmp_path):
    from rnnlab.compile_cache import prune

    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / "tf-x" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * 100)
        os.utime(path, (1e9 - age * 1000, 1e9 - age * 1000))
    prune(str(tmp_path), limit=250)
    assert sorted(os.listdir(tmp_path / "tf-x")) == ["middle", "newest"]
