import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmlatent.config import ConfigError, RunConfig


def test_yaml_round_trip_keeps_every_field(tmp_path):
    config = RunConfig().with_overrides(
        ["train.max_epochs=3", "model.options={latent_dim: 8}", "seed=7"]
    )
    path = config.to_yaml(tmp_path / "config.yaml")
    assert RunConfig.from_yaml(path) == config
    assert "mmlatent_version" in path.read_text()


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("train.max_epochs=0", "train.max_epochs"),
        ("train.lr=-1", "train.lr"),
        ("train.nonsense=1", "train.nonsense"),
        ("data.batch_size=abc", "data.batch_size"),
        ("eval.n_unconditional=0", "eval.n_unconditional"),
    ],
)
def test_bad_values_name_the_field(override, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        RunConfig().with_overrides([override])


def test_override_needs_an_equals_sign():
    with pytest.raises(ConfigError, match=r"section\.field=value"):
        RunConfig().with_overrides(["train.lr"])


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: [unclosed")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        RunConfig.from_yaml(path)


def test_ints_are_accepted_for_floats_but_bools_are_not_ints():
    assert RunConfig().with_overrides(["train.lr=1"]).train.lr == 1.0
    with pytest.raises(ConfigError):
        RunConfig().with_overrides(["train.max_epochs=true"])


@given(
    epochs=st.integers(1, 10_000),
    lr=st.floats(1e-8, 10, allow_nan=False),
    seed=st.integers(0, 2**31),
)
def test_any_valid_config_survives_yaml(tmp_path_factory, epochs, lr, seed):
    config = RunConfig().with_overrides(
        [f"train.max_epochs={epochs}", f"train.lr={lr!r}", f"seed={seed}"]
    )
    path = config.to_yaml(tmp_path_factory.mktemp("c") / "config.yaml")
    assert RunConfig.from_yaml(path) == config
