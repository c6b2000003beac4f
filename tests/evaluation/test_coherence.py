"""Coherence and evaluate() with an oracle model and perfect judges: known right answers."""

from __future__ import annotations

import json
import math

import pytest
import torch
from evaluation_fakes import N_CLASSES, OracleModel, make_data, oracle_judges

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation import NO_LABELS, evaluate
from mmlatent.evaluation.coherence import direction_key, source_subsets
from mmlatent.evaluation.judges import Judge
from mmlatent.evaluation.reconstruction import presence_groups


def test_source_subsets_are_nonempty_proper_subsets() -> None:
    subsets = source_subsets(["image", "text", "audio"])
    assert subsets == [
        ("image",), ("text",), ("audio",),
        ("image", "text"), ("image", "audio"), ("text", "audio"),
    ]  # fmt: skip
    assert direction_key(("image", "text"), "audio") == "image+text->audio"


def test_presence_groups_partition_rows() -> None:
    masks = {"a": torch.tensor([1, 1, 0, 0]).bool(), "b": torch.tensor([1, 0, 1, 0]).bool()}
    groups = presence_groups(masks, torch.arange(4), ["a", "b"])
    assert {k: v.tolist() for k, v in groups.items()} == {("a", "b"): [0], ("a",): [1], ("b",): [2]}


def test_oracle_is_perfectly_coherent(
    fake_data: MultimodalData, oracle: OracleModel, perfect_judges: dict[str, Judge]
) -> None:
    result = evaluate(oracle, fake_data, perfect_judges, n_unconditional=50, batch_size=16)
    expected = {
        direction_key(s, t)
        for s in source_subsets(["image", "text", "audio"])
        for t in ("image", "text", "audio")
        if t not in s
    }
    expected |= {k + "(wav)" for k in expected if k.endswith("->audio")}
    assert set(result.coherence) == expected
    assert all(v == 1.0 for v in result.coherence.values())
    assert result.joint_coherence == 1.0
    assert result.judge_accuracy == {"image": 1.0, "text": 1.0, "audio": 1.0}
    assert result.reconstruction["text"]["token_accuracy"] == 1.0
    assert 0 < result.reconstruction["image"]["mse"] < 0.1  # the noise that the oracle removes
    json.dumps(result.to_dict())  # metrics.json-ready


def test_relabelling_model_scores_zero_but_stays_jointly_coherent(
    fake_data: MultimodalData,
) -> None:
    model = OracleModel(fake_data.specs, shift=1)  # every generated sample shows the next class
    result = evaluate(
        model, fake_data, oracle_judges(), n_unconditional=40, audio_roundtrip_limit=5
    )
    assert all(v == 0.0 for v in result.coherence.values())
    assert result.joint_coherence == 1.0


def test_latent_sampler_feeds_unconditional_generation(
    fake_data: MultimodalData, oracle: OracleModel, perfect_judges: dict[str, Judge]
) -> None:
    calls = []

    def sampler(n: int) -> torch.Tensor:
        calls.append(n)
        return torch.eye(N_CLASSES)[torch.zeros(n, dtype=torch.long)]

    result = evaluate(
        oracle, fake_data, perfect_judges, n_unconditional=30, batch_size=16, latent_sampler=sampler
    )
    assert calls == [16, 14]
    assert result.joint_coherence == 1.0


def test_missing_modalities_and_unlabelled_data() -> None:
    data = make_data(missing=0.3, labelled=False)
    model = OracleModel(data.specs)
    result = evaluate(model, data, {}, n_unconditional=10)
    assert result.notes == [NO_LABELS]
    assert result.coherence == {} and result.joint_coherence is None
    assert set(result.reconstruction) == {"image", "text", "audio"}


def test_evaluate_is_seeded_and_restores_training_mode(fake_data: MultimodalData) -> None:
    model = OracleModel(fake_data.specs).train()
    judges = oracle_judges()
    a = evaluate(model, fake_data, judges, n_unconditional=20, seed=3).to_dict()
    b = evaluate(model, fake_data, judges, n_unconditional=20, seed=3).to_dict()
    assert a.pop("timings").keys() == b.pop("timings").keys()  # seconds differ; figures must not
    assert a == b and model.training


def test_nan_scores_become_none_in_json(fake_data: MultimodalData, oracle: OracleModel) -> None:
    judges = oracle_judges()
    judges["image"].accuracy = math.nan
    out = evaluate(oracle, fake_data, judges, n_unconditional=0).to_dict()
    assert out["judge_accuracy"]["image"] is None
    assert out["joint_coherence"] is None


def test_unknown_split_is_a_precise_error(fake_data: MultimodalData, oracle: OracleModel) -> None:
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        evaluate(oracle, fake_data, {}, split="dev")
