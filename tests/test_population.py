"""A population trains many networks in one program; each member is the single run."""
import io

import numpy as np
import pytest

from rnnlab.config import TrainConfig
from rnnlab.run.training import train_population
from rnnlab.settings import check_population, resolve
from rnnlab.run.training import train


def members(base, settings, tmp_path):
    return [resolve(base.replace(out=str(tmp_path / str(i)), **s))
            for i, s in enumerate(settings)]


def single_runs(configs):
    return [train(c, stdout=io.StringIO()).history for c in configs]


@pytest.mark.parametrize("tools, rate", [({}, 0.1), (dict(
    optimizer="adam", clip=0.5, dropout=0.3, layers=2, lr_decay=0.5), 0.01)],
                         ids=["adagrad", "adam-clip-dropout-decay"])
def test_members_equal_single_runs_seed_rate_and_lag_varying(tools, rate, tmp_path):
    base = TrainConfig(epochs=2, series_length=6000, cell="gru", state_size=6, task="adding",
                       batch_size=10, truncation=10, plot="none", checkpoint_every=0, **tools)
    configs = members(base, [dict(seed=1, echo_step=5, learning_rate=rate),
                             dict(seed=2, echo_step=10, learning_rate=3 * rate),
                             dict(seed=3, echo_step=7, learning_rate=2 * rate)], tmp_path)
    result = train_population(configs)
    for i, history in enumerate(single_runs(configs)):
        np.testing.assert_allclose(result["loss"][i], history.epoch_loss, rtol=1e-5)
        np.testing.assert_allclose(result["accuracy"][i], history.epoch_accuracy, atol=1e-6)


def test_tutorial_members_track_the_hand_differentiated_single_run(tmp_path):
    # A population multiplies its tiny matrices as broadcast sums, a single run as
    # matrix products: the float32 rounding differs, so the two agree closely rather
    # than exactly.
    base = TrainConfig(epochs=2, series_length=15000, plot="none", checkpoint_every=0)
    configs = members(base, [dict(seed=1), dict(seed=2, echo_step=5)], tmp_path)
    result = train_population(configs)
    for i, history in enumerate(single_runs(configs)):
        np.testing.assert_allclose(result["loss"][i], history.epoch_loss, rtol=1e-3)
    assert result["accuracy"][0, -1] > 0.99 and result["accuracy"][1, -1] < 0.6


def test_members_must_share_array_shapes(tmp_path):
    base = TrainConfig(epochs=1)
    configs = members(base, [dict(seed=1), dict(seed=2, truncation=10)], tmp_path)
    with pytest.raises(ValueError, match="members differ in truncation"):
        check_population(configs)
