import atexit
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)                                   # numpy_bptt
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))  # tutorial_tf1
os.environ.setdefault("MPLBACKEND", "Agg")
# XLA's compiled programs go to a cache of the test session's own, not the user's.
if "RNNLAB_XLA_CACHE" not in os.environ:
    os.environ["RNNLAB_XLA_CACHE"] = tempfile.mkdtemp(prefix="rnnlab-xla-cache-")
    atexit.register(shutil.rmtree, os.environ["RNNLAB_XLA_CACHE"], True)
