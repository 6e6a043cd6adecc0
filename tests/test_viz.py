import numpy as np
import pytest
from matplotlib.colors import to_rgba

from rnnlab.run.records import Snapshot
from rnnlab.run.figure import new_file_figure

pytestmark = pytest.mark.fast


def test_figure_has_the_tutorials_six_panels_and_bars():
    T, batch = 15, 5
    rng = np.random.RandomState(0)
    x, y = rng.randint(0, 2, (batch, T)), rng.randint(0, 2, (batch, T))
    p0 = rng.rand(T, batch)
    probs = np.stack([p0, 1 - p0], axis=-1)
    view = new_file_figure(T, batch)
    view.update(np.linspace(0.7, 0.1, 40), Snapshot(0, 0, x, y, probs, 40))
    axes = view.fig.axes
    assert len(axes) == 6
    assert len(axes[0].lines[0].get_xdata()) == 40
    for r, ax in enumerate(axes[1:]):
        assert (ax.get_xlim(), ax.get_ylim()) == ((0, T), (0, 2))
        heights = np.array([rect.get_height() for rect in ax.patches]).reshape(3, T)
        np.testing.assert_array_equal(heights[0], x[r])
        np.testing.assert_array_equal(heights[1], y[r] * 0.5)
        np.testing.assert_array_equal(heights[2], (p0[:, r] < 0.5) * 0.3)
        assert [c.get_facecolor() for c in ax.patches[::T]] == [to_rgba(c) for c in ("blue", "red", "green")]


def test_dependency_panels_show_true_and_model_probabilities():
    T, batch = 12, 3
    rng = np.random.RandomState(1)
    x, y = rng.randint(0, 2, (batch, T)), rng.randint(0, 2, (batch, T))
    p1 = rng.rand(T, batch)
    truth = rng.choice([0.25, 0.5, 0.75, 1.0], (batch, T))
    view = new_file_figure(T, batch, panels="probabilities")
    view.update(np.ones(5), Snapshot(0, 0, x, y, np.stack([1 - p1, p1], -1), 5, truth=truth))
    for r, ax in enumerate(view.fig.axes[1:4]):
        np.testing.assert_array_equal([b.get_height() for b in ax.patches], x[r])
        true_line, model_line = ax.lines
        np.testing.assert_array_equal(true_line.get_ydata(), truth[r])
        np.testing.assert_allclose(model_line.get_ydata(), p1[:, r])


# Where the figure goes: a notebook cell, a window, or a file.
