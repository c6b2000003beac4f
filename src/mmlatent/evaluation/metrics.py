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


def contingency(labels_a: Tensor, labels_b: Tensor) -> Tensor:
    """Counts (A, B) of each pair of values of two labelings of the same N items, float64."""
    if labels_a.shape != labels_b.shape or labels_a.dim() != 1:
        raise ValueError(f"need two (N,) labelings, got {labels_a.shape} and {labels_b.shape}")
    _, a = labels_a.unique(return_inverse=True)
    _, b = labels_b.unique(return_inverse=True)
    n_b = int(b.max()) + 1 if len(b) else 0
    flat = torch.bincount(a * n_b + b, minlength=(int(a.max()) + 1 if len(a) else 0) * n_b)
    return flat.reshape(-1, max(n_b, 1)).double()  # (A, B)


def _entropy(counts: Tensor) -> Tensor:
    p = counts[counts > 0] / counts.sum()
    return -(p * p.log()).sum()


def normalized_mutual_info(labels_true: Tensor, labels_pred: Tensor) -> float:
    """NMI with the arithmetic mean of the two entropies as normaliser (scikit-learn's default).

    1.0 when both labelings have one value each (identical), 0.0 when they share no information.
    """
    table = contingency(labels_true, labels_pred)  # (A, B)
    if table.shape[0] == table.shape[1] == 1:
        return 1.0
    n = table.sum()
    rows, cols = table.sum(1, keepdim=True), table.sum(0, keepdim=True)  # (A, 1), (1, B)
    nz = table > 0
    mi = (table[nz] / n * (table[nz] * n / (rows * cols)[nz]).log()).sum()
    if mi <= 0:
        return 0.0
    return float(mi / ((_entropy(rows.flatten()) + _entropy(cols.flatten())) / 2))


def adjusted_rand_index(labels_true: Tensor, labels_pred: Tensor) -> float:
    """Rand index corrected for chance (Hubert & Arabie 1985): 1 for identical partitions, ~0 at
    random; 1.0 when the denominator vanishes (both partitions trivial), as scikit-learn does."""
    table = contingency(labels_true, labels_pred)  # (A, B)

    def pairs(x: Tensor) -> Tensor:
        return (x * (x - 1) / 2).sum()

    n = table.sum()
    index = pairs(table)
    rows, cols = pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (n * (n - 1) / 2) if n > 1 else torch.zeros((), dtype=n.dtype)
    top = (rows + cols) / 2
    if torch.isclose(top, expected):
        return 1.0
    return float((index - expected) / (top - expected))


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
