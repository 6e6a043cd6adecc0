import pytest

from rnnlab.config import ConfigError, TrainConfig
from rnnlab.settings import resolve

pytestmark = pytest.mark.fast


def test_defaults_are_the_tutorials():
    c = TrainConfig()
    assert (c.epochs, c.series_length, c.truncation, c.state_size, c.echo_step,
            c.batch_size, c.optimizer, c.rate) == (100, 50000, 15, 4, 3, 5, "adagrad", 0.3)
    assert c.num_windows == 666


@pytest.mark.parametrize("changes, words", [
    ({"epochs": 0}, "--epochs"),
    ({"state_size": -1}, "--state-size"),
    ({"learning_rate": 0.0}, "--learning-rate"),
    ({"series_length": 50001}, "not divisible"),
    ({"truncation": 10001}, "longer than a row"),
    ({"echo_step": 10000}, "not shorter than a row"),
    ({"plot": "screen"}, "--plot"),
])
def test_validate_names_the_problem(changes, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**changes).validate()


def test_resolve_fills_seed_and_out_and_json_round_trips():
    c = resolve(TrainConfig()).config
    assert c.seed is not None and c.out.startswith("runs")
    assert TrainConfig.from_json(c.to_json()) == c
