"""Fixtures shared by every test folder: an isolated data cache and a tiny in-memory data set."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import lightning as L
import pytest
import torch
from hypothesis import settings

from mmlatent.data.datasets.base import MultimodalData, random_splits
from mmlatent.data.modalities import AudioModality, ImageModality, TextModality

# No per-example deadline anywhere: on a loaded 2-core machine one example now and then takes
# seconds, and a deadline would turn that into a failure that says nothing about the code.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never write into ~/.cache; set MMLATENT_CACHE yourself to reuse a cache across runs."""
    before = os.environ.get("MMLATENT_CACHE")
    if before is None:
        os.environ["MMLATENT_CACHE"] = str(tmp_path_factory.mktemp("mmlatent-cache"))
    yield
    if before is None:
        os.environ.pop("MMLATENT_CACHE", None)


@pytest.fixture
def trainers_with(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[L.Callback], AbstractContextManager[None]]:
    """``with trainers_with(callback):`` every trainer that ``fit`` builds within the block
    carries ``callback`` too, after the run's own."""
    from mmlatent.training import fit as fit_module

    @contextmanager
    def install(callback: L.Callback) -> Iterator[None]:
        build_trainer = fit_module.build_trainer

        def with_callback(*args: Any, **kwargs: Any) -> L.Trainer:
            trainer = build_trainer(*args, **kwargs)
            trainer.callbacks.append(callback)  # type: ignore[attr-defined]
            return trainer

        with monkeypatch.context() as patch:
            patch.setattr(fit_module, "build_trainer", with_callback)
            yield

    return install


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Test tensors are tiny: one thread is fastest, and more thrash a shared CPU (50x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_data() -> MultimodalData:
    """40 rows of random image/text/audio tensors (no files, no librosa); every 4th row lacks audio."""
    n, gen = 40, torch.Generator().manual_seed(0)
    text = TextModality(max_len=6).fit(["zero one two three", "four five"])
    modalities = {
        "image": ImageModality(),
        "text": text,
        "audio": AudioModality(n_mels=8, frames=16),
    }
    tensors = {
        "image": torch.rand(n, 1, 28, 28, generator=gen),
        "text": torch.randint(4, text.vocab_size, (n, 6), generator=gen),
        "audio": torch.rand(n, 1, 8, 16, generator=gen),
    }
    masks = {m: torch.ones(n, dtype=torch.bool) for m in tensors}
    masks["audio"][::4] = False
    return MultimodalData(
        name="tiny",
        modalities=modalities,
        tensors=tensors,
        masks=masks,
        labels=torch.arange(n) % 10,
        splits=random_splits(n, val_fraction=0.25, test_fraction=0.25, seed=0),
        label_names=[str(i) for i in range(10)],
    )
