"""examples/tutorial.ipynb runs in a real Jupyter kernel, and its figure updates in place."""
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "examples", "tutorial.ipynb")


class RecordingClient(nbclient.NotebookClient):
    """Keeps every display message the kernel sends, updates included: the executed
    notebook keeps only each display's last state."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.displays = []  # (cell index, msg_type, display_id)

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in ("display_data", "update_display_data"):
            transient = msg["content"].get("transient") or {}
            self.displays.append((cell_index, msg["msg_type"], transient.get("display_id")))
        return super().process_message(msg, cell, cell_index)


def code_cell(nb, text):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source)


def figure_messages(client, cell_index):
    """The messages of the cell's updatable displays: {display_id: [msg_type, ...]}."""
    shown = {}
    for i, kind, display_id in client.displays:
        if i == cell_index and display_id:
            shown.setdefault(display_id, []).append(kind)
    return shown


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run once, top to bottom, in a fresh python3 kernel whose working
    folder is a temporary one (the run folders land there)."""
    folder = tmp_path_factory.mktemp("notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's own backend, as for a student
    client = RecordingClient(nb, timeout=240, kernel_name="python3",
                             resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)  # raises CellExecutionError at the first cell that fails
    return nb, client, folder


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("text", ["train(TrainConfig(epochs=5", 'cell="lstm"'])
def test_training_figure_is_one_display_updated_while_training(executed, text):
    nb, client, folder = executed
    cell = code_cell(nb, text)
    shown = figure_messages(client, cell)
    assert len(shown) == 1, shown  # one figure, not a new image per refresh
    (kinds,) = shown.values()
    # The first image, at least one refresh while training, and the final figure.
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}, kinds
    assert len(kinds) >= 3, kinds
    images = [o for o in nb.cells[cell].outputs if o.output_type == "display_data"]
    assert len(images) == 1 and "image/png" in images[0].data  # the final figure stays
    # Without ipywidgets there is no progress bar: nothing on stderr (no text bar, no warning).
    assert not [o for o in nb.cells[cell].outputs if o.get("name") == "stderr"]


def test_notebook_runs_land_in_its_folder_and_the_prediction_echoes(executed):
    nb, client, folder = executed
    for run in ("tutorial", "lstm"):
        assert (folder / "runs" / run / "figure.png").is_file()
    printed = "".join(o.text for o in nb.cells[code_cell(nb, "predict(")].outputs
                      if o.get("name") == "stdout").splitlines()
    lines = {line[:11].strip(): line[12:] for line in printed}
    assert lines["predicted"][3:] == lines["echo (t-3)"][3:]  # the bits three steps back
