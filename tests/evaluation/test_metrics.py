"""Metrics against NumPy oracles, accumulated over several batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmlatent.evaluation.metrics import (
    Coherence,
    JointCoherence,
    TokenAccuracy,
    all_agree,
    reconstruction_metric,
)
from mmlatent.types import ModalitySpec

RNG = np.random.default_rng(0)


def _batches(n_batches: int = 4, b: int = 33, k: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(RNG.integers(0, k, b), RNG.integers(-1, k, b)) for _ in range(n_batches)]


def test_coherence_matches_numpy_and_skips_unknown_labels() -> None:
    batches = _batches()
    metric = Coherence()
    for pred, true in batches:
        metric.update(torch.from_numpy(pred), torch.from_numpy(true))
    pred, true = (np.concatenate(x) for x in zip(*batches, strict=True))
    known = true >= 0
    assert metric.compute().item() == pytest.approx(np.mean(pred[known] == true[known]))


def test_coherence_with_nothing_counted_is_nan() -> None:
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(Coherence().compute())


def test_joint_coherence_matches_numpy() -> None:
    metric = JointCoherence()
    agreed = []
    for _ in range(3):
        labels = {m: RNG.integers(0, 2, 50) for m in ("image", "text", "audio")}
        metric.update({m: torch.from_numpy(v) for m, v in labels.items()})
        stacked = np.stack(list(labels.values()))
        agreed.append((stacked == stacked[0]).all(axis=0))
    assert metric.compute().item() == pytest.approx(np.concatenate(agreed).mean())


def test_all_agree_single_modality_is_always_true() -> None:
    assert all_agree(torch.tensor([[1, 2, 3]])).all()


def test_token_accuracy_ignores_padding() -> None:
    metric = TokenAccuracy(pad_id=0)
    hits = total = 0
    for _ in range(3):
        target = RNG.integers(0, 5, (20, 7))
        pred = np.where(RNG.random((20, 7)) < 0.7, target, RNG.integers(0, 5, (20, 7)))
        metric.update(torch.from_numpy(pred), torch.from_numpy(target))
        hits += ((pred == target) & (target != 0)).sum()
        total += (target != 0).sum()
    assert metric.compute().item() == pytest.approx(hits / total)


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (ModalitySpec(name="i", kind="image", shape=(1, 4, 4), likelihood="bernoulli"), "mse"),
        (ModalitySpec(name="a", kind="audio", shape=(1, 4, 4), likelihood="gaussian"), "mse"),
        (ModalitySpec(name="v", kind="vector", shape=(3,), likelihood="gaussian"), "mse"),
        (
            ModalitySpec(name="t", kind="text", shape=(4,), likelihood="categorical", vocab_size=9),
            "token_accuracy",
        ),
    ],
)
def test_reconstruction_metric_per_kind(spec: ModalitySpec, name: str) -> None:
    got_name, metric = reconstruction_metric(spec)
    assert got_name == name
    if name == "mse":
        x, y = RNG.random((2, 10, *spec.shape))
        metric.update(torch.from_numpy(x), torch.from_numpy(y))
        assert metric.compute().item() == pytest.approx(np.mean((x - y) ** 2))
