"""A whole data set, preprocessed once and held as tensors (the hot loop never touches files).

CONTRACT shared by data sets, the data module, evaluation and reports:
``MultimodalData.tensors[m]`` is (N, *spec.shape); ``masks[m]`` (N,) bool, True = present;
``labels`` (N,) long, -1 = unknown; ``splits`` maps "train"/"val"/"test" to index tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from mmlatent.data.modalities import Modality
from mmlatent.types import Batch, ModalitySpec

SPLITS = ("train", "val", "test")


@dataclass
class MultimodalData:
    name: str
    """Registered data set name."""
    modalities: dict[str, Modality]
    tensors: dict[str, Tensor]
    masks: dict[str, Tensor]
    labels: Tensor
    splits: dict[str, Tensor]
    label_names: list[str] | None = None
    """Human names of the labels (``"seven"``), for reports."""
    options: dict[str, Any] = field(default_factory=dict)
    """The options the data set was built with; with ``name`` they rebuild it exactly."""
    fingerprint: str = ""
    """Stable hash of name, options and format version: the key of cached judges and tensors."""

    def __post_init__(self) -> None:
        n = len(self.labels)
        for m, t in self.tensors.items():
            if len(t) != n or len(self.masks[m]) != n:
                raise ValueError(
                    f"data set {self.name!r}: modality {m!r} has {len(t)} rows, labels {n}"
                )

    @property
    def specs(self) -> dict[str, ModalitySpec]:
        return {m: mod.spec for m, mod in self.modalities.items()}

    @property
    def has_labels(self) -> bool:
        return bool((self.labels >= 0).any())

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, indices: Tensor) -> Batch:
        """Rows ``indices`` as one batch (a copy by fancy indexing; no per-sample Python work)."""
        return {
            "data": {m: t[indices] for m, t in self.tensors.items()},
            "mask": {m: k[indices] for m, k in self.masks.items()},
            "label": self.labels[indices],
        }

    def split_batch(self, split: str, limit: int | None = None) -> Batch:
        idx = self.splits[split]
        return self.batch(idx if limit is None else idx[:limit])

    def rows_with_any(self, split: str, modalities: list[str]) -> Tensor:
        """Indices of ``split`` that hold at least one of ``modalities``: the rows a model of
        those modalities can encode."""
        idx = self.splits[split]
        return idx[torch.stack([self.masks[m][idx] for m in modalities]).any(0)]

    def split_sizes(self) -> dict[str, int]:
        return {s: len(i) for s, i in self.splits.items()}


def drop_at_random(data: MultimodalData, rates: dict[str, float], *, seed: int) -> MultimodalData:
    """A copy of ``data`` in which modality m is missing from a ``rates[m]`` fraction of the
    training rows, completely at random (seeded): the incomplete-data setting of multimodal VAEs.

    Only rows that keep another modality are candidates, so no row is left empty; validation and
    test rows are untouched, so every model is scored on the same complete rows.
    """
    unknown = sorted(set(rates) - set(data.masks))
    if unknown:
        raise ValueError(
            f"missing rate for unknown modality {unknown[0]!r}; the data set has {sorted(data.masks)}"
        )
    generator = torch.Generator().manual_seed(seed)
    masks = {m: k.clone() for m, k in data.masks.items()}
    train = data.splits["train"]
    for m, rate in rates.items():
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"missing rate of {m!r} must be in [0, 1), got {rate}")
        others = torch.stack(
            [masks[o][train] for o in masks if o != m]
            or [torch.zeros_like(train, dtype=torch.bool)]
        ).any(0)
        candidates = train[masks[m][train] & others]
        n_drop = round(rate * len(candidates))
        chosen = candidates[torch.randperm(len(candidates), generator=generator)[:n_drop]]
        masks[m][chosen] = False
    return replace(data, masks=masks)


def random_splits(
    n: int, *, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, Tensor]:
    """Seeded train/val/test split of ``range(n)``."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction + test_fraction must be in [0, 1); got {val_fraction} + {test_fraction}"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    return {
        "val": order[:n_val].sort().values,
        "test": order[n_val : n_val + n_test].sort().values,
        "train": order[n_val + n_test :].sort().values,
    }
