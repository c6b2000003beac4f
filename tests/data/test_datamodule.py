"""The data module yields contract batches quickly, shuffles train, and works with a DistributedSampler."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, DistributedSampler

from mmlatent.data.datamodule import MultimodalDataModule, SplitDataset, pass_through
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
