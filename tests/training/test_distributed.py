"""A DDP rank releases its process group once fitting has succeeded, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import torch.distributed as dist

from mmlatent.training.distributed import ReleaseProcessGroup


@pytest.fixture
def group() -> Iterator[None]:
    """A one-process gloo group on an in-memory store, gone again after the test."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def fit_end(world_size: int) -> None:
    strategy = SimpleNamespace(barrier=lambda name: dist.barrier())
    trainer: Any = SimpleNamespace(world_size=world_size, strategy=strategy)
    ReleaseProcessGroup().on_fit_end(trainer, None)  # type: ignore[arg-type]


def test_a_distributed_fit_that_ended_releases_its_group(group: None) -> None:
    fit_end(world_size=2)
    assert not dist.is_initialized()


def test_a_group_the_user_started_outlives_a_one_process_fit(group: None) -> None:
    fit_end(world_size=1)
    assert dist.is_initialized()


def test_without_a_group_there_is_nothing_to_release() -> None:
    fit_end(world_size=2)
    assert not dist.is_initialized()
