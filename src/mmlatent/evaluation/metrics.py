"""Evaluation metrics as ``torchmetrics.Metric``s with running-sum states (memory stays flat).

The maths lives in the small pure functions at the top; the classes only accumulate their output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor
from torchmetrics import MeanSquaredError, Metric

from mmlatent.data.text import PAD_ID
from mmlatent.types import ModalitySpec


def count_matches(pred: Tensor, target: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """(number of valid positions where ``pred == target``, number of valid positions)."""
    if pred.shape != target.shape or valid.shape != target.shape:
        raise ValueError(
            f"shapes differ: pred {pred.shape}, target {target.shape}, valid {valid.shape}"
        )
    return ((pred == target) & valid).sum(), valid.sum()


def all_agree(labels: Tensor) -> Tensor:
    """For labels (M, B) of M judges: (B,) True where every judge gave the same label."""
    return (labels == labels[:1]).all(dim=0)


def safe_ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` as float; NaN (not an error) when nothing was counted."""
    if denominator == 0:
        return torch.tensor(float("nan"))
    return numerator.float() / denominator


class _RatioMetric(Metric):
    """Shared states: a running count of hits and of trials."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    hits: Tensor
    total: Tensor

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_state("hits", torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def compute(self) -> Tensor:
        return safe_ratio(self.hits, self.total)


class Coherence(_RatioMetric):
    """Fraction of generated samples that the judge gives the label of their source.

    ``update(pred_labels, true_labels)``; true labels < 0 (unknown) are skipped.
    """

    def update(self, pred_labels: Tensor, true_labels: Tensor) -> None:
        hits, total = count_matches(pred_labels, true_labels, true_labels >= 0)
        self.hits += hits
        self.total += total


class JointCoherence(_RatioMetric):
    """Fraction of unconditional samples whose modalities all receive the same label.

    ``update({modality: pred_labels})`` with one (B,) tensor per judged modality.
    """

    def update(self, pred_labels: Mapping[str, Tensor]) -> None:
        if not pred_labels:
            raise ValueError("JointCoherence needs the labels of at least one modality")
        agree = all_agree(torch.stack(list(pred_labels.values())))  # (M, B) -> (B,)
        self.hits += agree.sum()
        self.total += agree.numel()


class TokenAccuracy(_RatioMetric):
    """Fraction of non-padding target tokens that the reconstruction gets right."""

    def __init__(self, pad_id: int = PAD_ID, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.pad_id = pad_id

    def update(self, pred_ids: Tensor, target_ids: Tensor) -> None:
        hits, total = count_matches(pred_ids, target_ids, target_ids != self.pad_id)
        self.hits += hits
        self.total += total


ReconstructionMetricFactory = Callable[[ModalitySpec, int], tuple[str, Metric]]
RECONSTRUCTION_METRICS: dict[str, ReconstructionMetricFactory] = {
    "image": lambda spec, pad_id: ("mse", MeanSquaredError()),
    "audio": lambda spec, pad_id: ("mse", MeanSquaredError()),
    "vector": lambda spec, pad_id: ("mse", MeanSquaredError()),
    "text": lambda spec, pad_id: ("token_accuracy", TokenAccuracy(pad_id)),
}
"""Per kind: ``(spec, pad_id) -> (metric name, metric)``; token ids have no meaningful MSE."""


def reconstruction_metric(spec: ModalitySpec, pad_id: int = PAD_ID) -> tuple[str, Metric]:
    """The reconstruction metric for ``spec`` and the name it is reported under."""
    try:
        return RECONSTRUCTION_METRICS[spec.kind](spec, pad_id)
    except KeyError:
        raise ValueError(f"no reconstruction metric for kind {spec.kind!r}") from None
