"""Configs from any YAML text and any ``--set`` override: a valid ``RunConfig`` or a
``ConfigError`` naming the file or field, never another exception."""

from __future__ import annotations

from pathlib import Path

import yaml
from fuzz_budget import examples, settings
from hypothesis import given
from hypothesis import strategies as st

from mmlatent.config import ConfigError, RunConfig

FUZZ = settings.get_profile("mmlatent")
FIELDS = [
    "seed",
    "data.name",
    "data.batch_size",
    "data.options",
    "data.missing",
    "data.missing.audio",
    "model.name",
    "model.options",
    "model.options.latent_dim",
    "train.max_epochs",
    "train.lr",
    "train.lr_schedule",
    "train.devices",
    "train.limit_train_batches",
    "train.checkpoint_every_n_steps",
    "eval.n_unconditional",
    "eval.sampler_options",
    "train",
    "nowhere.field",
    "seed.deeper",
]
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.text(max_size=12),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def config_documents(draw: st.DrawFn) -> str:
    """A valid config with one field replaced, or arbitrary YAML, or arbitrary text."""
    valid = RunConfig().to_dict()
    section = draw(st.sampled_from(["seed", "data", "model", "train", "eval", "extra"]))
    if isinstance(valid.get(section), dict) and draw(st.booleans()):
        fields = [*valid[section], "unknown"]
        valid[section][draw(st.sampled_from(fields))] = draw(yaml_values)
    else:
        valid[section] = draw(yaml_values)
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return yaml.safe_dump(valid)
    if choice == 1:
        return yaml.safe_dump(draw(yaml_values))
    return draw(st.text(max_size=80))


overrides = st.builds(
    lambda key, sep, value: f"{key}{sep}{value}",
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)),
    st.sampled_from(["=", "", "=="]),
    st.one_of(
        st.text(max_size=16),
        yaml_scalars.map(str),
        st.sampled_from(["[", "{a: ", "'", "*x", "!!python/object:os.system"]),
    ),
)


@settings(FUZZ, max_examples=examples(250))
@given(document=config_documents())
def test_any_yaml_config_loads_or_names_the_problem(tmp_path: Path, document: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(document, encoding="utf-8")
    try:
        config = RunConfig.from_yaml(path)
    except ConfigError as err:
        assert str(path) in str(err)
    else:
        assert RunConfig.from_dict(config.to_dict()) == config  # what loads, round-trips


@settings(FUZZ, max_examples=examples(250))
@given(items=st.lists(overrides, min_size=1, max_size=3))
def test_any_override_applies_or_names_the_problem(items: list[str]) -> None:
    try:
        config = RunConfig().with_overrides(items)
    except ConfigError as err:
        assert str(err)
    else:
        assert RunConfig.from_dict(config.to_dict()) == config
