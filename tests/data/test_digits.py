"""The embedded ``digits`` data set: sizes, balance, pairing by digit, splits, determinism, cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmlatent.data.datasets import digits as digits_module
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.datasets.cache import fingerprint
from mmlatent.data.datasets.captions import DIGIT_NAMES
from mmlatent.data.datasets.digits import augment, base_clips


@pytest.fixture(scope="module")
def digits() -> MultimodalData:
    return load_dataset("digits")


def test_sizes_shapes_and_masks(digits: MultimodalData) -> None:
    assert len(digits) == 5000
    assert digits.tensors["image"].shape == (5000, 1, 28, 28)
    assert digits.tensors["text"].shape == (5000, 8)  # fitted: 6 words at most, bos, eos
    assert digits.tensors["audio"].shape == (5000, 1, 32, 32)
    assert all(bool(m.all()) for m in digits.masks.values())
    assert digits.label_names == DIGIT_NAMES
    assert {m: s.shape for m, s in digits.specs.items()} == {
        m: tuple(t.shape[1:]) for m, t in digits.tensors.items()
    }


def test_labels_are_balanced(digits: MultimodalData) -> None:
    assert torch.bincount(digits.labels).tolist() == [500] * 10


def test_every_caption_names_its_digit(digits: MultimodalData) -> None:
    captions = digits.modalities["text"].decode_batch(digits.tensors["text"])
    for caption, label in zip(captions, digits.labels.tolist(), strict=True):
        words = caption.replace(",", " ").split()
        assert DIGIT_NAMES[label] in words or str(label) in words, caption
    assert len(set(captions)) > 40  # several phrasings per digit


def test_audio_is_paired_with_the_label(digits: MultimodalData) -> None:
    """A nearest-centroid classifier on the mels, fitted on train, must name the test digits."""
    mels = digits.tensors["audio"].flatten(1)  # (N, n_mels * frames)
    train, test = digits.splits["train"], digits.splits["test"]
    centroids = torch.stack([mels[train][digits.labels[train] == d].mean(0) for d in range(10)])
    guess = torch.cdist(mels[test], centroids).argmin(1)
    assert (guess == digits.labels[test]).float().mean() > 0.9


def test_no_two_clips_are_alike(digits: MultimodalData) -> None:
    mels = digits.tensors["audio"].flatten(1)
    assert len(torch.unique(mels[:500], dim=0)) == 500


def test_splits_are_80_10_10_and_disjoint(digits: MultimodalData) -> None:
    assert digits.split_sizes() == {"train": 4000, "val": 500, "test": 500}
    everything = torch.cat(list(digits.splits.values()))
    assert len(torch.unique(everything)) == 5000


def test_build_is_deterministic_under_the_seed() -> None:
    base = base_clips(8000)
    labels = np.arange(20) % 10
    a = augment(base, labels, 8064, 8000, np.random.default_rng(3))
    b = augment(base, labels, 8064, 8000, np.random.default_rng(3))
    c = augment(base, labels, 8064, 8000, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0


def test_second_load_comes_from_the_cache(
    digits: MultimodalData, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rebuild(*args: object) -> MultimodalData:
        raise AssertionError("digits was rebuilt instead of read from the cache")

    monkeypatch.setattr(digits_module, "_build", no_rebuild)
    again = load_dataset("digits")
    assert again.fingerprint == digits.fingerprint and again.options == digits.options
    for m in digits.tensors:
        assert torch.equal(again.tensors[m], digits.tensors[m])
    assert again.modalities["text"].state() == digits.modalities["text"].state()
    assert fingerprint("digits", {**digits.options, "seed": 1}) != digits.fingerprint
    assert fingerprint("digits", {**digits.options, "cache": False}) == digits.fingerprint
