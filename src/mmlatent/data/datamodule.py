"""The Lightning data module: split indices -> batches, with no per-sample Python work.

The data set is already a set of tensors, so a batch is one fancy-indexing call. The torch
``Dataset`` implements ``__getitems__`` (DataLoader then asks for a whole batch of indices at once)
and the collate function passes that batch through untouched. Samplers, including Lightning's
``DistributedSampler`` under DDP, still choose the indices as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

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


class EpochShuffle(Sampler[int]):
    """A random order of ``n`` positions drawn from ``(seed, epoch)`` alone, never the global RNG.

    Lightning calls ``set_epoch`` before each epoch, so the order of epoch ``e`` is the same in a
    run that was interrupted and resumed as in one that was not; ``skip`` drops the positions an
    interrupted epoch had already served, once.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.epoch = 0
        self.served = 0
        self._resume_at: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_at(self, epoch: int, served: int) -> None:
        """The next pass over ``epoch`` starts after its first ``served`` positions."""
        self._resume_at = (epoch, served)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator).tolist()
        start = 0
        if self._resume_at is not None and self._resume_at[0] == self.epoch:
            start = self._resume_at[1]
        self._resume_at = None
        self.served = start
        for position in order[start:]:
            self.served += 1
            yield position


class ResumableLoader(DataLoader):
    """A training loader whose place in the epoch travels in Lightning's checkpoint.

    Lightning saves ``state_dict()`` of a loader that has one and hands it back through
    ``load_state_dict`` on resume, so a run restarted mid-epoch sees the batches it had not yet
    seen, in the same order.
    """

    def __init__(self, dataset: Dataset, *, batch_size: int, seed: int, **options: Any) -> None:
        self.shuffle_order = EpochShuffle(len(dataset), seed)  # type: ignore[arg-type]
        # Under DDP Lightning rebuilds the loader with a distributed sampler wrapping this one.
        sampler = options.pop("sampler", None) or self.shuffle_order
        options.pop("shuffle", None)
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, **options)

    def state_dict(self) -> dict[str, int]:
        if self.sampler is not self.shuffle_order:
            return {}  # DDP's sampler wraps ours and keeps its own place: not ours to save
        return {"epoch": self.shuffle_order.epoch, "served": self.shuffle_order.served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state and self.sampler is self.shuffle_order:
            self.shuffle_order.resume_at(int(state["epoch"]), int(state["served"]))


class MultimodalDataModule(L.LightningDataModule):
    """Train/val/test loaders over a ``MultimodalData`` yielding ``{"data", "mask", "label"}`` dicts."""

    def __init__(
        self,
        data: MultimodalData,
        *,
        batch_size: int,
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.data = data
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.seed = seed
        """Seeds the training order of every epoch (see ``EpochShuffle``)."""

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"persistent_workers": True} if self.num_workers > 0 else {}
        return {
            "num_workers": self.num_workers,
            "pin_memory": self.pin_memory,
            "collate_fn": pass_through,
            **options,
        }

    def _dataset(self, split: str) -> SplitDataset:
        if split not in self.data.splits:
            raise ValueError(f"data set {self.data.name!r} has no {split!r} split")
        return SplitDataset(self.data, self.data.splits[split])

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        return DataLoader(
            self._dataset(split), batch_size=self.batch_size, shuffle=shuffle, **self._options()
        )

    def train_dataloader(self) -> DataLoader:
        return ResumableLoader(
            self._dataset("train"), batch_size=self.batch_size, seed=self.seed, **self._options()
        )

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
