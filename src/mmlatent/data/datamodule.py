"""The Lightning data module: split indices -> batches, with no per-sample Python work.

The data set is already a set of tensors, so a batch is one fancy-indexing call. The torch
``Dataset`` implements ``__getitems__`` (DataLoader then asks for a whole batch of indices at once)
and the collate function passes that batch through untouched. Under DDP the training order
shards itself between ranks (so its place in an epoch is ours to save and restore), and the
validation and test loaders take a ``DistributedSampler``, as Lightning would give them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

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


def distributed_place() -> tuple[int, int]:
    """(rank, number of ranks) of this process: ``(0, 1)`` unless torch.distributed is running."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochShuffle(Sampler[int]):
    """This rank's share of a random order of ``n`` positions drawn from ``(seed, epoch)`` alone,
    never the global RNG.

    Lightning calls ``set_epoch`` before each epoch, so the order of epoch ``e`` is the same in a
    run that was interrupted and resumed as in one that was not; ``resume_at`` drops the rows an
    interrupted epoch had already served, once. Under DDP every rank draws the same order and
    takes every ``replicas``-th row from its ``rank`` on, padded by repeating the first rows so
    every rank gets as many (as ``DistributedSampler`` does); the place in the epoch is then one
    number for all ranks, which the checkpoint keeps.
    """

    def __init__(
        self, n: int, seed: int, *, rank: int | None = None, replicas: int | None = None
    ) -> None:
        here = distributed_place()
        self.n = n
        self.seed = seed
        self.rank = here[0] if rank is None else rank
        self.replicas = here[1] if replicas is None else replicas
        if not 0 <= self.rank < self.replicas:
            raise ValueError(f"rank {self.rank} is not one of {self.replicas} replicas")
        self.epoch = 0
        self.start = 0
        """Rows of the current epoch's order (over all ranks) skipped when this pass began."""
        self._resume_at: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_at(self, epoch: int, served: int) -> None:
        """The next pass over ``epoch`` starts after the first ``served`` rows of its order (rounded
        down to a whole number of rows per rank, so the ranks stay level)."""
        self._resume_at = (epoch, served)

    def __len__(self) -> int:
        return math.ceil(self.n / self.replicas)

    def epoch_order(self) -> list[int]:
        """The order of the current epoch over all ranks, padded to ``len(self) * replicas``."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator).tolist()
        padding = len(self) * self.replicas - self.n
        if padding and order:
            order += (order * math.ceil(padding / len(order)))[:padding]
        return order

    def __iter__(self) -> Iterator[int]:
        order = self.epoch_order()
        self.start = 0
        if self._resume_at is not None and self._resume_at[0] == self.epoch:
            served = min(self._resume_at[1], len(order))
            self.start = served - served % self.replicas
        self._resume_at = None
        return iter(order[self.start + self.rank :: self.replicas])


class ResumableLoader(DataLoader):
    """A training loader whose place in the epoch travels in Lightning's checkpoint.

    Lightning saves ``state_dict()`` of a loader that has one and hands it back through
    ``load_state_dict`` on resume, so a run restarted mid-epoch sees the rows it had not yet
    seen, in the same order, on one process or under DDP (the trainer then leaves the sampler to
    us: ``use_distributed_sampler=False``). The place counts the batches handed out rather than
    the positions the sampler gave, which worker processes draw ahead of time.
    """

    def __init__(self, dataset: Dataset, *, batch_size: int, seed: int, **options: Any) -> None:
        self.shuffle_order = EpochShuffle(len(dataset), seed)  # type: ignore[arg-type]
        # Lightning rebuilds the loader with its own sampler when it distributes one itself
        # (a trainer with use_distributed_sampler=True): then the place is not ours to keep.
        sampler = options.pop("sampler", None) or self.shuffle_order
        options.pop("shuffle", None)
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, **options)
        self.batches_served = 0

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        self.batches_served = 0
        return self._counted(super().__iter__())

    def _counted(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            self.batches_served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        if self.sampler is not self.shuffle_order:
            return {}
        order = self.shuffle_order
        per_batch = self.batch_size or 1
        served = order.start + self.batches_served * per_batch * order.replicas
        return {"epoch": order.epoch, "served": min(served, len(order) * order.replicas)}

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

    def _loader(self, split: str) -> DataLoader:
        """An evaluation loader in order; each DDP rank takes its share (padded evenly)."""
        dataset = self._dataset(split)
        rank, replicas = distributed_place()
        sampler: DistributedSampler | None = None
        if replicas > 1:
            sampler = DistributedSampler(dataset, num_replicas=replicas, rank=rank, shuffle=False)
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler, **self._options())

    def train_dataloader(self) -> DataLoader:
        return ResumableLoader(
            self._dataset("train"), batch_size=self.batch_size, seed=self.seed, **self._options()
        )

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
