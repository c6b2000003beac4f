"""Incomplete data: modalities dropped completely at random from training rows, and its config."""

from __future__ import annotations

import pytest
import torch

from mmlatent.config import ConfigError, DataConfig, RunConfig
from mmlatent.data.datasets.base import MultimodalData, drop_at_random


def candidates(data: MultimodalData, modality: str) -> torch.Tensor:
    """Training rows that have ``modality`` and some other modality."""
    train = data.splits["train"]
    others = torch.stack([k[train] for m, k in data.masks.items() if m != modality]).any(0)
    return train[data.masks[modality][train] & others]


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.5, 0.9])
def test_rate_is_met_among_the_candidate_training_rows(
    tiny_data: MultimodalData, rate: float
) -> None:
    pool = candidates(tiny_data, "audio")
    dropped = drop_at_random(tiny_data, {"audio": rate}, seed=0)
    lost = tiny_data.masks["audio"] & ~dropped.masks["audio"]
    assert int(lost.sum()) == round(rate * len(pool))
    assert set(lost.nonzero().flatten().tolist()) <= set(pool.tolist())
    for m in ("image", "text"):
        assert torch.equal(dropped.masks[m], tiny_data.masks[m])


def test_validation_and_test_rows_are_untouched(tiny_data: MultimodalData) -> None:
    dropped = drop_at_random(tiny_data, {"audio": 0.9, "image": 0.9, "text": 0.5}, seed=0)
    for split in ("val", "test"):
        rows = tiny_data.splits[split]
        for m, mask in tiny_data.masks.items():
            assert torch.equal(dropped.masks[m][rows], mask[rows]), (split, m)


def test_the_input_is_not_changed(tiny_data: MultimodalData) -> None:
    before = {m: k.clone() for m, k in tiny_data.masks.items()}
    dropped = drop_at_random(tiny_data, {"image": 0.5}, seed=0)
    assert not torch.equal(dropped.masks["image"], before["image"])
    for m, mask in before.items():
        assert torch.equal(tiny_data.masks[m], mask)
    assert dropped.tensors is tiny_data.tensors  # only the masks are copied


def test_seeded_and_reproducible(tiny_data: MultimodalData) -> None:
    rates = {"audio": 0.5, "image": 0.3}
    a = drop_at_random(tiny_data, rates, seed=7)
    b = drop_at_random(tiny_data, rates, seed=7)
    c = drop_at_random(tiny_data, rates, seed=8)
    assert all(torch.equal(a.masks[m], b.masks[m]) for m in a.masks)
    assert not all(torch.equal(a.masks[m], c.masks[m]) for m in a.masks)


def test_no_row_is_left_without_any_modality(tiny_data: MultimodalData) -> None:
    rates = {"image": 0.95, "audio": 0.95, "text": 0.95}
    for seed in range(5):
        dropped = drop_at_random(tiny_data, rates, seed=seed)
        assert torch.stack(list(dropped.masks.values())).any(0).all()
        # a high rate still drops: every modality lost rows somewhere
        train = tiny_data.splits["train"]
        assert all(
            (~dropped.masks[m][train]).sum() > (~tiny_data.masks[m][train]).sum() for m in rates
        )


def test_unknown_modality_names_it_and_the_known_ones(tiny_data: MultimodalData) -> None:
    with pytest.raises(ValueError, match=r"'smell'.*\['audio', 'image', 'text'\]"):
        drop_at_random(tiny_data, {"smell": 0.5}, seed=0)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_bad_rate_names_the_modality_and_the_rate(tiny_data: MultimodalData, rate: float) -> None:
    with pytest.raises(ValueError, match=rf"'audio'.*\[0, 1\).*{rate}"):
        drop_at_random(tiny_data, {"audio": rate}, seed=0)


# -- DataConfig.missing ---------------------------------------------------------------------------


def test_data_config_accepts_fractions() -> None:
    assert DataConfig(missing={"audio": 0.5, "text": 0}).missing == {"audio": 0.5, "text": 0}
    assert DataConfig().missing == {}


@pytest.mark.parametrize("rate", [1.0, -0.1, "half", True, None])
def test_data_config_rejects_a_bad_rate_by_field(rate: object) -> None:
    with pytest.raises(ConfigError, match=r"data\.missing\.audio.*\[0, 1\)"):
        DataConfig(missing={"audio": rate})  # type: ignore[dict-item]


def test_run_config_reads_missing_from_overrides_and_yaml(tmp_path) -> None:
    config = RunConfig().with_overrides(["data.missing={audio: 0.25}"])
    assert config.data.missing == {"audio": 0.25}
    path = config.to_yaml(tmp_path / "config.yaml")
    assert RunConfig.from_yaml(path).data.missing == {"audio": 0.25}
    with pytest.raises(ConfigError, match=r"data\.missing\.audio"):
        RunConfig().with_overrides(["data.missing={audio: 1}"])
    with pytest.raises(ConfigError, match=r"data\.missing"):
        RunConfig.from_dict({"data": {"missing": 0.5}})


def test_rows_with_any_keeps_rows_holding_one_of_the_modalities(tiny_data) -> None:
    test = tiny_data.splits["test"]
    rows = tiny_data.rows_with_any("test", ["audio"])
    assert set(rows.tolist()) == {int(i) for i in test if tiny_data.masks["audio"][i]}
    assert tiny_data.rows_with_any("test", ["audio", "image"]).tolist() == test.tolist()
