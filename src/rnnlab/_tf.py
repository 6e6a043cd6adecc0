"""The one place TensorFlow is imported, with rnnlab's process settings applied first:
a quiet start, XLA's thread pool, a CPU allocator that reuses memory, and a cache of
compiled programs kept across runs."""
import os
import sys

from rnnlab import compile_cache
from rnnlab.errors import require_tensorflow
from rnnlab.quiet import CACHE_LOAD_NOISE, stderr_filtered

require_tensorflow()  # the CLI prints its line; Python code sees a ModuleNotFoundError

VERBOSE = bool(os.environ.get("RNNLAB_VERBOSE"))  # `rnnlab --verbose` keeps TF's log lines
# XLA flags of the user's own (not those rnnlab sets below): XLA reads them when it first
# compiles, and ends the process on one it does not know, after saying so in one line,
# which must not be filtered away with the noise of that first compile.
USER_XLA_FLAGS = bool(os.environ.get("XLA_FLAGS", "").replace(
    "--xla_cpu_multi_thread_eigen=false", "").strip())

# TensorFlow's C++ start-up lines (CPU features, oneDNN, XLA service) are noise to a user.
if not VERBOSE:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# XLA on the CPU hands every matrix product to a thread pool by default; rnnlab's are
# tiny (5x5 by 5x4), and the hand-off costs more than the product: one thread runs a
# tutorial epoch about 1.3x faster, and a 256-unit LSTM as fast (benchmarks/
# backprop_speed.py --eigen-flag).
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false").strip()

# TensorFlow's CPU allocator takes every buffer from malloc, which maps a buffer of
# megabytes afresh on each call and unmaps it after: each window of a 256-unit LSTM
# faulted its buffers in anew (a fifth of the window's time in a profile). The BFC
# allocator keeps what it took and reuses it (benchmarks/allocator.py); its ceiling,
# 64 GB unless told, is set to the machine's memory. TF_CPU_ALLOCATOR_USE_BFC=false
# in the environment turns it off.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
    os.environ.setdefault("TF_CPU_BFC_MEM_LIMIT_IN_MB", str(
        os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20))

# XLA's persistent compilation cache, in rnnlab's folder unless the user named one.
# TensorFlow reads TF_XLA_FLAGS when it first compiles, so the flag stays set, and an
# rnnlab process started from this one (which inherits it) recognises it as rnnlab's.
_CACHE_FLAG = "--tf_xla_persistent_cache_directory="
_flags = os.environ.get("TF_XLA_FLAGS", "")
_flags = _flags.replace(os.environ.pop("RNNLAB_XLA_CACHE_FLAG", "") or "\0", "").strip()
CACHE_DIR = None if _CACHE_FLAG in _flags else compile_cache.cache_dir()
if CACHE_DIR:
    os.environ["RNNLAB_XLA_CACHE_FLAG"] = _CACHE_FLAG + CACHE_DIR
    _flags = f"{_flags} {_CACHE_FLAG}{CACHE_DIR}".strip()
if _flags:
    os.environ["TF_XLA_FLAGS"] = _flags
else:
    os.environ.pop("TF_XLA_FLAGS", None)

with stderr_filtered(enabled=not VERBOSE):
    import tensorflow as tf  # noqa: E402
if not VERBOSE:
    tf.get_logger().setLevel("ERROR")


class Compiled:
    """An XLA-compiled tf.function made by `build()`, whose first call (where XLA
    compiles it, or loads it from the cache of compiled programs) is kept quiet.

    A cached program that cannot be loaded (a truncated file, one from another build)
    must never fail a run: the cache is cleared, and the function is built again and
    compiled afresh. (TensorFlow remembers the failure for the function it traced, so
    a retry needs a new one.)
    """

    def __init__(self, build):
        self.build = build
        self.function = build()
        self.called = False

    def __call__(self, *args):
        if self.called:
            return self.function(*args)
        try:
            # --verbose keeps the log lines, but not the cache's harmless "errors".
            with stderr_filtered(CACHE_LOAD_NOISE, enabled=not USER_XLA_FLAGS, logs=VERBOSE):
                result = self.function(*args)
        except tf.errors.OpError as err:
            if not CACHE_DIR:
                raise
            if CACHE_DIR in str(err) and ".tmp" in str(err):  # writing a program failed
                from rnnlab.errors import WriteError

                reason = str(err).split("; ")[-1].split(" [")[0][:120]
                raise WriteError(f"cannot write rnnlab's cache of compiled programs, "
                                 f"{CACHE_DIR}: {reason}; free space there, or set "
                                 f"RNNLAB_XLA_CACHE=off") from None
            print(f"rnnlab: a compiled program in {CACHE_DIR} could not be loaded; "
                  f"compiling afresh", file=sys.stderr)
            compile_cache.clear(CACHE_DIR)
            self.function = self.build()
            result = self.function(*args)
        self.called = True
        return result
