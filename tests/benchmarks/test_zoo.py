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


def test_the_table_shows_the_second_judges_joint_coherence_from_the_prior() -> None:
    entry = {
        "coherence": {"image->text": 0.9},
        "joint_coherence": {"prior": 0.4, "gmm": 0.95},
        "reconstruction": {},
        "seconds_per_epoch": 1.0,
        "epochs": 3,
        "parameters": 1_000_000,
    }
    plain = Z.markdown({"entries": {"kl": entry}})
    assert "2nd judges" not in plain
    table = Z.markdown(
        {"entries": {"kl": entry, "adv": {**entry, "second_judge_joint_prior": 0.6}}}
    )
    assert "| joint prior | joint prior (2nd judges) | joint fitted |" in table
    assert "| adv | 0.900 | 0.400 | 0.600 | 0.950 |" in table
    assert "| kl | 0.900 | 0.400 | – | 0.950 |" in table


def test_the_header_says_how_many_rows_the_independent_judge_heard() -> None:
    """Files written before ``--indep-rows`` heard 500 rows; the header must not claim more."""
    entries = {"entries": {}, "independent_audio_judge_accuracy": 0.98}
    assert "hearing up to 500 test rows" in Z.markdown(entries)
    assert "hearing up to 2000 test rows" in Z.markdown(
        {**entries, "independent_audio_judge_rows": 2000}
    )
