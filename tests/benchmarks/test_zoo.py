"""benchmarks/zoo.py: what a run's config says is what its data were loaded with."""

from __future__ import annotations

import argparse

from .loader import load_benchmark

Z = load_benchmark("zoo")


def args(data: str, *overrides: str) -> argparse.Namespace:
    return argparse.Namespace(data=data, overrides=list(overrides))


def test_the_data_sets_options_hold_unless_a_set_overrides_them() -> None:
    config = Z.base_config(args("avmnist"), "model.name=jmvae")
    assert config.data.name == "avmnist"
    assert config.model.name == "jmvae"
    assert config.data.options == {"limit_train": 10000, "limit_test": 2000}

    config = Z.base_config(
        args("avmnist", "data.options.text_max_len=12", "data.options.limit_train=500")
    )
    assert config.data.options == {"limit_train": 500, "limit_test": 2000, "text_max_len": 12}


def test_a_users_set_wins_over_the_budget_and_the_entry() -> None:
    config = Z.base_config(
        args("digits", "train.max_epochs=3", "model.name=mvae"), "model.name=mopoe"
    )
    assert config.train.max_epochs == 3
    assert config.model.name == "mvae"


def test_every_model_latent_loss_and_prior_has_an_entry() -> None:
    labels = [label for label, _, _ in Z.entries()]
    assert {"mopoe", "jmvae", "mmvae+", "mopoe/mmd", "mopoe/adversarial"} <= set(labels)
    assert ("mopoe/prior-learned", "mopoe", {"latent_dim": 32, "prior": "learned"}) in Z.entries()
    assert len(labels) == len(set(labels))
