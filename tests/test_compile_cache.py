"""XLA's compiled programs are kept across runs (a faster start), and a cache that is
damaged or cannot be written never fails a run nor changes its numbers."""
import glob
import os
import shutil
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


# TensorFlow names a few nodes of the same program differently from one process to the
# next (`while/ones_1/_0` or `_1`: two variants seen), so one program may be stored under
# two keys; once both are stored, every run loads one.
VARIANTS = 2


def cached_run(cache, out, *extra):
    """Runs until a run writes no new program (it loaded one): that run's result."""
    for _ in range(VARIANTS):
        before = {p: os.stat(p).st_mtime_ns for p in programs(cache)}
        done = rnnlab(cache, out, *extra)
        assert done.returncode == 0 and done.stderr == "", done.stderr  # loading logs nothing
        after = {p: os.stat(p).st_mtime_ns for p in programs(cache)}
        if before and after == before:
            return done
        shutil.rmtree(out)
    raise AssertionError(f"every run compiled afresh: {sorted(after)}")


def test_a_second_run_loads_the_compiled_program_and_computes_the_same(tmp_path):
    cache = tmp_path / "cache"
    first = rnnlab(cache, tmp_path / "a")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert len(programs(cache)) == 1
    cached_run(cache, tmp_path / "b")
    stored = programs(cache)
    assert rnnlab("off", tmp_path / "c").returncode == 0  # no cache at all
    metrics = [(tmp_path / r / "metrics.csv").read_bytes() for r in "abc"]
    assert metrics[0] == metrics[1] == metrics[2]
    # The learning rate is an input of the program: a rate never run before loads a stored
    # program. (A run may still store the naming variant no run has stored yet, so each
    # try takes another rate; were the rate a constant, every try would compile.)
    for rate in ["0.1", "0.2", "0.05"][:VARIANTS + 1]:
        out = tmp_path / f"rate{rate}"
        before = {p: os.stat(p).st_mtime_ns for p in programs(cache)}
        done = rnnlab(cache, out, "--learning-rate", rate)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        if {p: os.stat(p).st_mtime_ns for p in programs(cache)} == before:
            break
    else:
        raise AssertionError(f"a run at every new rate compiled afresh: {programs(cache)}")
    assert (out / "metrics.csv").read_bytes() != metrics[0]
    stored = programs(cache)
    # Another state size is another program: no stale hit.
    other = rnnlab(cache, tmp_path / "e", "--state-size", "5")
    assert other.returncode == 0 and len(programs(cache)) == len(stored) + 1


def test_a_damaged_program_is_compiled_afresh(tmp_path):
    cache = tmp_path / "cache"
    assert rnnlab(cache, tmp_path / "a").returncode == 0
    folder = os.path.dirname(programs(cache)[0])
    for _ in range(VARIANTS):  # every stored program damaged, until a run meets one
        for program in programs(cache):
            with open(program, "r+b") as f:
                f.truncate(os.path.getsize(program) // 3)
        shutil.rmtree(tmp_path / "b", ignore_errors=True)
        done = rnnlab(cache, tmp_path / "b")
        assert done.returncode == 0, done.stderr
        if done.stderr:
            break
    assert done.stderr.strip().splitlines() == [
        f"rnnlab: a compiled program in {folder} could not be loaded; compiling afresh"]
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
