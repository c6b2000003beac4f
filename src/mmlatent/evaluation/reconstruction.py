"""Reconstruction: encode every present modality of a sample, decode each one back, compare.

Rows are grouped by which modalities they have, since ``generate(given=...)`` needs every given
modality present in every row of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.metrics import reconstruction_metric
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel


def presence_groups(
    masks: dict[str, Tensor], idx: Tensor, names: Sequence[str]
) -> dict[tuple[str, ...], Tensor]:
    """Rows ``idx`` grouped by the tuple of modalities present in them (rows with none dropped)."""
    present = torch.stack([masks[m][idx] for m in names], dim=1)  # (N, M) bool
    patterns, inverse = present.unique(dim=0, return_inverse=True)
    groups = {}
    for g, pattern in enumerate(patterns):
        key = tuple(m for m, p in zip(names, pattern.tolist(), strict=True) if p)
        if key:
            groups[key] = idx[inverse == g]
    return groups


def reconstruction_scores(
    model: GenerativeModel, data: MultimodalData, *, split: str, batch_size: int
) -> dict[str, dict[str, float]]:
    """``{modality: {"mse" | "token_accuracy": value}}`` from posterior-mean reconstructions."""
    names = [m for m in model.modalities if m in data.modalities]
    metrics = {m: reconstruction_metric(data.modalities[m].spec) for m in names}
    device = model_device(model)
    for present, rows in presence_groups(data.masks, data.splits[split], names).items():
        for chunk in rows.split(batch_size):
            given = {m: data.tensors[m][chunk].to(device) for m in present}
            out = model.generate(given=given, targets=list(present), temperature=0)
            for m in present:
                metrics[m][1].update(out[m].cpu(), given[m].cpu())
    return {
        m: {name: float(metric.compute())}
        for m, (name, metric) in metrics.items()
        if metric.update_called
    }
