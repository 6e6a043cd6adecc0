"""The one place TensorFlow is imported, with rnnlab's process settings applied first."""
import os

# TensorFlow's C++ start-up lines (CPU features, XLA service) are noise to a user;
# `rnnlab --verbose` sets RNNLAB_VERBOSE to keep them.
if not os.environ.get("RNNLAB_VERBOSE"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# XLA on the CPU hands every matrix product to a thread pool by default; rnnlab's are
# tiny (5x5 by 5x4), and the hand-off costs more than the product: one thread runs a
# tutorial epoch about five times faster (benchmarks/echo_speed.py).
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false").strip()

import tensorflow as tf  # noqa: E402

if not os.environ.get("RNNLAB_VERBOSE"):
    tf.get_logger().setLevel("ERROR")
