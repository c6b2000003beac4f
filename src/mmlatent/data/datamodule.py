"""The Lightning data module: split indices -> batches, with no per-sample Python work.

The data set is already a set of tensors, so a batch is one fancy-indexing call. The torch
``Dataset`` implements ``__getitems__`` (DataLoader then asks for a whole batch of indices at once)
and the collate function passes that batch through untouched. Samplers, including Lightning's
``DistributedSampler`` under DDP, still choose the indices as usual.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.types import Batch


class SplitDataset(Dataset):
    """Rows ``indices`` of ``data``; ``__getitems__`` returns a whole ``Batch``."""

    def __init__(self, data: MultimodalData, indices: torch.Tensor) -> None:
        self.data = data
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Batch:
        return self.__getitems__([i])

    def __getitems__(self, positions: list[int]) -> Batch:
        return self.data.batch(self.indices[torch.as_tensor(positions, dtype=torch.long)])


def pass_through(batch: Any) -> Any:
    """Collate for ``SplitDataset``: the batch is already assembled (module-level so workers can pickle it)."""
    return batch


class MultimodalDataModule(L.LightningDataModule):
    """Train/val/test loaders over a ``MultimodalData`` yielding ``{"data", "mask", "label"}`` dicts."""

    def __init__(
        self,
        data: MultimodalData,
        *,
        batch_size: int,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.data = data
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        if split not in self.data.splits:
            raise ValueError(f"data set {self.data.name!r} has no {split!r} split")
        options: dict[str, Any] = {"persistent_workers": True} if self.num_workers > 0 else {}
        return DataLoader(
            SplitDataset(self.data, self.data.splits[split]),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            collate_fn=pass_through,
            **options,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
