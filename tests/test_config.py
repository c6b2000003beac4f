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


def test_an_int_stays_an_int_where_a_field_takes_either():
    # Lightning reads limit_train_batches=1 as one batch but 1.0 as the whole split
    limit = RunConfig().with_overrides(["train.limit_train_batches=1"]).train.limit_train_batches
    assert limit == 1 and isinstance(limit, int)
    assert (
        RunConfig().with_overrides(["train.limit_train_batches=0.5"]).train.limit_train_batches
        == 0.5
    )


def test_gan_settings_are_a_nested_section_with_checked_fields():
    config = RunConfig().with_overrides(
        ["train.adversarial.n_critic=5", "train.adversarial.betas=[0.0, 0.9]"]
    )
    assert config.train.adversarial.n_critic == 5 and config.train.adversarial.betas == [0.0, 0.9]
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match=r"train\.adversarial\.betas"):
        RunConfig().with_overrides(["train.adversarial.betas=[0.5]"])
    with pytest.raises(ConfigError, match=r"train\.adversarial\.ema_decay"):
        RunConfig().with_overrides(["train.adversarial.ema_decay=1"])
    with pytest.raises(ConfigError, match=r"unknown field train\.adversarial\.lr"):
        RunConfig().with_overrides(["train.adversarial.lr=1"])


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
