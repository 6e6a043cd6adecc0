import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)                                   # numpy_bptt
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))  # tutorial_tf1
os.environ.setdefault("MPLBACKEND", "Agg")
