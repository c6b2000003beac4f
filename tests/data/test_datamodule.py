"""The data module yields contract batches quickly, shuffles train, shards it between DDP ranks,
and resumes an epoch where it stopped."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from mmlatent.data import datamodule
from mmlatent.data.datamodule import (
    EpochShuffle,
    MultimodalDataModule,
    ResumableLoader,
    SplitDataset,
    pass_through,
)
from mmlatent.data.datasets.base import MultimodalData


def test_batches_follow_the_contract(tiny_data: MultimodalData) -> None:
    module = MultimodalDataModule(tiny_data, batch_size=8)
    batch = next(iter(module.val_dataloader()))
    assert set(batch) == {"data", "mask", "label"}
    for m, spec in tiny_data.specs.items():
        assert batch["data"][m].shape == (8, *spec.shape)
        assert batch["mask"][m].shape == (8,) and batch["mask"][m].dtype == torch.bool
    rows = tiny_data.splits["val"][:8]
    assert torch.equal(batch["label"], tiny_data.labels[rows])
    assert torch.equal(batch["mask"]["audio"], tiny_data.masks["audio"][rows])
    assert torch.equal(batch["data"]["image"], tiny_data.tensors["image"][rows])


def test_train_shuffles_and_covers_the_split(tiny_data: MultimodalData) -> None:
    torch.manual_seed(0)
    loader = MultimodalDataModule(tiny_data, batch_size=7).train_dataloader()
    labels_seen = torch.cat([b["label"] for b in loader])
    images = torch.cat([b["data"]["image"] for b in loader])
    train = tiny_data.splits["train"]
    assert len(labels_seen) == len(train)
    order = [
        int((tiny_data.tensors["image"][train] == img).flatten(1).all(1).nonzero())
        for img in images
    ]
    assert sorted(order) == list(range(len(train))) and order != sorted(order)


def test_distributed_sampler_splits_rows_between_ranks(tiny_data: MultimodalData) -> None:
    dataset = SplitDataset(tiny_data, tiny_data.splits["train"])
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True, seed=0)
        loader = DataLoader(dataset, batch_size=4, sampler=sampler, collate_fn=pass_through)
        seen.append(torch.cat([b["label"] for b in loader]))
    assert len(seen[0]) == len(seen[1]) == len(dataset) // 2


def test_ranks_take_even_strided_shares_of_one_epoch_order() -> None:
    shares = [list(_epoch(EpochShuffle(21, seed=5, rank=r, replicas=2), 3)) for r in range(2)]
    whole = EpochShuffle(21, seed=5, rank=0, replicas=1)
    whole.set_epoch(3)
    order = list(whole)
    assert len(shares[0]) == len(shares[1]) == 11  # 21 rows: one repeated to keep ranks level
    assert shares[0] == order[0::2] and shares[1] == order[1::2] + order[:1]
    with pytest.raises(ValueError, match="rank 2"):
        EpochShuffle(21, seed=5, rank=2, replicas=2)


def _epoch(order: EpochShuffle, epoch: int) -> EpochShuffle:
    order.set_epoch(epoch)
    return order


def _rows(batches: list) -> torch.Tensor:
    """The images of ``batches`` in order: each row of ``tiny_data`` has its own."""
    return torch.cat([b["data"]["image"] for b in batches])


@pytest.mark.parametrize(("replicas", "workers"), [(1, 0), (2, 0), (1, 2)])
def test_a_loader_resumes_mid_epoch_on_each_rank(
    tiny_data: MultimodalData, monkeypatch: pytest.MonkeyPatch, replicas: int, workers: int
) -> None:
    """The saved place counts batches handed out, not positions that worker processes drew."""
    dataset = SplitDataset(tiny_data, tiny_data.splits["train"])
    for rank in range(replicas):
        monkeypatch.setattr(datamodule, "distributed_place", lambda r=rank: (r, replicas))
        options = {"num_workers": workers, "collate_fn": pass_through}
        full = ResumableLoader(dataset, batch_size=3, seed=7, **options)
        full.shuffle_order.set_epoch(2)
        expected = _rows(list(full))
        stopped = ResumableLoader(dataset, batch_size=3, seed=7, **options)
        stopped.shuffle_order.set_epoch(2)
        batches = iter(stopped)
        seen = [next(batches), next(batches)]
        state = stopped.state_dict()
        assert state == {"epoch": 2, "served": 2 * 3 * replicas}
        resumed = ResumableLoader(dataset, batch_size=3, seed=7, **options)
        resumed.load_state_dict(state)
        resumed.shuffle_order.set_epoch(2)
        rest = list(resumed)
        assert torch.equal(_rows(seen + rest), expected)
        assert resumed.state_dict()["served"] == len(resumed.shuffle_order) * replicas
