"""How the package is put together: modules that import each other only one way, one task
table that the rest of the code asks."""
import ast
import os

import numpy as np
import pytest

from rnnlab import config
from rnnlab.tasks import TASKS

pytestmark = pytest.mark.fast
PACKAGE = os.path.join(os.path.dirname(__file__), "..", "src", "rnnlab")


def imports_of(path: str) -> set:
    """The rnnlab modules a file imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnlab"):
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("rnnlab.")}
    return found


def test_no_module_imports_one_that_imports_it_back():
    modules = {f[:-3] for f in os.listdir(PACKAGE) if f.endswith(".py")}
    graph = {m: imports_of(os.path.join(PACKAGE, m + ".py")) & modules - {m} for m in modules}
    done, cycles = set(), []

    def visit(module, path):
        if module in path:
            cycles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for other in sorted(graph[module]):
            visit(other, path + [module])
        done.add(module)

    for module in sorted(modules):
        visit(module, [])
    assert cycles == []
    assert graph["config"] == set() and graph["records"] == set()  # leaves
    assert "viz" not in graph["checkpoint"] and "live" not in graph["inference"]


def test_every_module_reads_in_a_sitting():
    lengths = {f: sum(1 for _ in open(os.path.join(PACKAGE, f)))
               for f in os.listdir(PACKAGE) if f.endswith(".py")}
    assert {f: n for f, n in lengths.items() if n > 380} == {}


def test_the_task_table_holds_every_task_the_flags_offer():
    assert tuple(TASKS) == config.TASKS
    for name, task in TASKS.items():
        assert task.name == name
        assert task.inputs in ("bit", "symbols", "channels")
        assert task.panels in ("bits", "probabilities", "characters", "words", "sums")
        assert task.regression == (task.panels == "sums")


@pytest.mark.parametrize("name", [n for n, t in TASKS.items() if t.synthetic])
def test_every_synthetic_task_draws_rows_of_the_configured_length(name):
    task = TASKS[name]
    settings = config.TrainConfig(task=name, series_length=1200, batch_size=4, echo_step=12)
    settings = settings.replace(**task.settings(settings))
    x, y = task.series(np.random.RandomState(0), settings)
    channels = (settings.num_inputs,) if task.inputs == "channels" else ()
    assert x.shape == (4, 300) + channels and y.shape == (4, 300)
