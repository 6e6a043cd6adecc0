"""How the package is put together: rooms by concern that import each other one way,
modules that import each other only one way, tables that the rest of the code asks."""
import ast
import os

import numpy as np
import pytest

from rnnlab import config
from rnnlab.data.tasks import TASKS
from rnnlab.nn.cells import CELLS
from rnnlab.nn.gradients import GRADIENTS

pytestmark = pytest.mark.fast
PACKAGE = os.path.join(os.path.dirname(__file__), "..", "src", "rnnlab")
ROOMS = ("nn", "data", "run", "look")
COMMAND_LINE = {"cli", "commands", "sweep"}


def modules() -> dict:
    """{"nn.cells": path, "config": path, ...}: every module of the package."""
    found = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py") and name != "__init__.py":
                relative = os.path.relpath(os.path.join(root, name[:-3]), PACKAGE)
                found[relative.replace(os.sep, ".")] = os.path.join(root, name)
    return found


def imports_of(path: str, known: set) -> set:
    """The rnnlab modules a file imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        names = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnlab"):
            base = node.module[len("rnnlab."):] if node.module != "rnnlab" else ""
            names = [f"{base}.{a.name}".strip(".") for a in node.names] + [base]
        elif isinstance(node, ast.Import):
            names = [a.name[len("rnnlab."):] for a in node.names if a.name.startswith("rnnlab.")]
        found |= {n for n in names if n in known}
    return found


def graph() -> dict:
    known = set(modules())
    return {m: imports_of(p, known) - {m} for m, p in modules().items()}


def room(module: str) -> str:
    return module.split(".")[0] if "." in module else "top"


def test_no_module_imports_one_that_imports_it_back():
    edges = graph()
    done, cycles = set(), []

    def visit(module, path):
        if module in path:
            cycles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for other in sorted(edges[module]):
            visit(other, path + [module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert cycles == []
    assert edges["run.records"] == set() and edges["errors"] == set()  # leaves


@pytest.mark.parametrize("low, forbidden", [
    ("nn", {"run", "look"}), ("data", {"nn", "run", "look"}), ("run", {"look"})])
def test_the_rooms_import_each_other_one_way(low, forbidden):
    """The maths and the data never import the run, the views or the command line; the
    run never imports the views."""
    edges = graph()
    wrong = {(m, o) for m, others in edges.items() if room(m) == low for o in others
             if room(o) in forbidden or o in COMMAND_LINE}
    assert wrong == set()


def test_the_data_imports_no_tensorflow():
    for module, path in modules().items():
        if room(module) != "data":
            continue
        text = open(path).read()
        assert "tensorflow" not in text and "_tf" not in text and "lazytf" not in text, module


def test_every_module_reads_in_a_sitting():
    lengths = {m: sum(1 for _ in open(p)) for m, p in modules().items()}
    assert {m: n for m, n in lengths.items() if n > 380} == {}


def test_no_module_but_the_cell_table_tests_a_cells_name():
    """What a cell is lives in its entry: elsewhere, no comparison with a cell's name and
    no test of its name's prefix."""
    names = set(CELLS)
    found = []
    for module, path in modules().items():
        if module == "nn.cells":
            continue
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Compare):
                constants = [c.value for c in [node.left, *node.comparators]
                             if isinstance(c, ast.Constant)]
                found += [(module, c) for c in constants if c in names]
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "startswith"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).startswith("keras")):
                found.append((module, node.args[0].value))
    assert found == []


def test_the_tables_hold_every_choice_the_flags_offer():
    assert tuple(TASKS) == config.TASKS and tuple(CELLS) == config.CELLS
    assert tuple(GRADIENTS) == config.GRADIENTS
    for name, task in TASKS.items():
        assert task.name == name
        assert task.inputs in ("bit", "symbols", "channels")
        assert task.panels in ("bits", "probabilities", "characters", "words", "sums")
        assert task.regression == (task.panels == "sums") == (task.tolerance is not None)
    for name, cell in CELLS.items():
        assert cell.name == name and (cell.parts[0] == "h" or cell.scan)  # LRU: re, im
        # Keras's cells run their own step, a scan cell's maths its own (nn/scan_cells.py)
        assert (cell.step is None) == bool(cell.keras or cell.scan)
        assert not (cell.population and cell.keras)


@pytest.mark.parametrize("name", [n for n, t in TASKS.items() if t.synthetic])
def test_every_synthetic_task_draws_rows_of_the_configured_length(name):
    task = TASKS[name]
    settings = config.TrainConfig(task=name, series_length=1200, batch_size=4, echo_step=12)
    settings = settings.replace(**task.settings(settings))
    x, y = task.series(np.random.RandomState(0), settings)
    channels = (settings.num_inputs,) if task.inputs == "channels" else ()
    assert x.shape == (4, 300) + channels and y.shape == (4, 300)
