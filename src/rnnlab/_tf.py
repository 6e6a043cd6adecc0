"""The one place TensorFlow is imported, with rnnlab's process settings applied first."""
import importlib.util
import os
import re
import sys
import tempfile

# rnnlab leaves the choice of TensorFlow build to the user (pyproject.toml): without one,
# say how to get one. The CLI prints this line; Python code sees the ModuleNotFoundError.
if importlib.util.find_spec("tensorflow") is None:
    raise ModuleNotFoundError(
        "rnnlab needs TensorFlow, which is not installed: pip install 'rnnlab[cpu]' "
        "(or 'rnnlab[gpu]' for NVIDIA GPUs on Linux)", name="tensorflow")

VERBOSE = bool(os.environ.get("RNNLAB_VERBOSE"))  # `rnnlab --verbose` keeps TF's log lines

# TensorFlow's C++ start-up lines (CPU features, oneDNN, XLA service) are noise to a user.
if not VERBOSE:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# XLA on the CPU hands every matrix product to a thread pool by default; rnnlab's are
# tiny (5x5 by 5x4), and the hand-off costs more than the product: one thread runs a
# tutorial epoch about five times faster (benchmarks/echo_speed.py).
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false").strip()

# A C++ log line, absl's "I0000 00:00:1795883466.142074  42 port.cc:153] ..." or older
# TensorFlow's "2024-05-01 12:00:00.000000: I tensorflow/...] ...": the letter is its severity.
_LOG_LINE = re.compile(r"^(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
                       r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) )")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"


def startup_lines_to_keep(text: str) -> str:
    """What TensorFlow's import wrote to stderr, less its info and warning log lines
    (with their continuation lines) and absl's preamble. Errors, fatal lines and
    anything that is not a C++ log line are kept."""
    kept, keeping = [], True
    for line in text.splitlines(keepends=True):
        match = _LOG_LINE.match(line)
        if match:
            keeping = (match.group(1) or match.group(2)) in "EF"
        elif line.startswith(_ABSL_PREAMBLE):
            keeping = False
            continue
        if keeping:
            kept.append(line)
    return "".join(kept)


def _import_quietly():
    """Import TensorFlow with file descriptor 2 pointed at a temporary file, then pass on
    what it wrote there but the start-up noise. TF_CPP_MIN_LOG_LEVEL cannot silence
    those lines: TensorFlow's libraries log them as they load, before absl's logging
    is set up (and on some CPUs only, such as oneDNN's on AVX-512 ones)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to speak of: nothing to hide
        import tensorflow
        return tensorflow
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            rest = startup_lines_to_keep(capture.read().decode("utf-8", errors="replace"))
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()
    return tensorflow


if VERBOSE:
    import tensorflow as tf
else:
    tf = _import_quietly()
    tf.get_logger().setLevel("ERROR")
