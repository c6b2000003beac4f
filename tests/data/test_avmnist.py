"""``avmnist`` against ../shared/data (skips when absent) and its IDX parser on tiny files."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.avmnist import default_root, pair_clips
from mmlatent.data.datasets.captions import DIGIT_NAMES
from mmlatent.data.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from mmlatent.data.errors import DataError


def shared_root():
    try:
        return default_root()
    except DataError:
        return None


ROOT = shared_root()
needs_shared = pytest.mark.skipif(
    ROOT is None, reason="../shared/data (MNIST + FSDD) is not present"
)


def write_idx(path, magic: int, dims: list[int], payload: bytes) -> None:
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(f">{1 + len(dims)}i", magic, *dims) + payload)


def test_idx_round_trip_and_errors_name_the_file(tmp_path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "ok.gz", IMAGES_MAGIC, [2, 3, 4], images.tobytes())
    assert np.array_equal(read_idx(tmp_path / "ok.gz", IMAGES_MAGIC), images)
    write_idx(tmp_path / "magic.gz", 1234, [2], b"\x00\x01")
    with pytest.raises(DataError, match=r"magic.gz: IDX magic 1234, expected 2049"):
        read_idx(tmp_path / "magic.gz", LABELS_MAGIC)
    write_idx(tmp_path / "short.gz", LABELS_MAGIC, [5], b"\x00\x01")
    with pytest.raises(DataError, match=r"short\.gz: header says"):
        read_idx(tmp_path / "short.gz", LABELS_MAGIC)


def test_pairing_gives_each_image_a_clip_of_its_digit() -> None:
    labels = np.array([3, 3, 3, 7, 0, 3])
    clip_digits = np.array([0, 3, 7, 3])
    pairs = pair_clips(labels, clip_digits, np.random.default_rng(0))
    assert np.array_equal(clip_digits[pairs], labels)
    assert set(pairs[labels == 3]) == {1, 3}  # both 3-clips are used before any repeats


@pytest.mark.shared_data
@needs_shared
def test_avmnist_small() -> None:
    data = load_dataset("avmnist", limit_train=200, limit_test=50, cache=False)
    assert len(data) == 250 and data.split_sizes() == {"train": 180, "val": 20, "test": 50}
    assert torch.equal(data.splits["test"], torch.arange(200, 250))
    assert data.tensors["audio"].shape == (250, 1, 32, 32)
    assert all(bool(m.all()) for m in data.masks.values())
    captions = data.modalities["text"].decode_batch(data.tensors["text"])
    for caption, label in zip(captions, data.labels.tolist(), strict=True):
        assert DIGIT_NAMES[label] in caption or str(label) in caption
    again = load_dataset("avmnist", limit_train=200, limit_test=50, cache=False)
    assert torch.equal(again.tensors["audio"], data.tensors["audio"])


@pytest.mark.shared_data
@needs_shared
def test_avmnist_audio_matches_label() -> None:
    """Same-digit clips should sit closer than other-digit clips (nearest centroid beats chance)."""
    data = load_dataset("avmnist", limit_train=600, limit_test=100, cache=False)
    mels, labels = data.tensors["audio"].flatten(1), data.labels
    train, test = data.splits["train"], data.splits["test"]
    centroids = torch.stack([mels[train][labels[train] == d].mean(0) for d in range(10)])
    accuracy = (torch.cdist(mels[test], centroids).argmin(1) == labels[test]).float().mean()
    assert accuracy > 0.2  # chance 0.1, measured 0.29: six speakers make raw mels a weak cue


@pytest.mark.shared_data
@needs_shared
def test_log_mel_grid_is_an_option_and_part_of_the_cache_key() -> None:
    small = {"limit_train": 20, "limit_test": 10, "cache": False}
    default = load_dataset("avmnist", **small)
    wide = load_dataset("avmnist", audio_frames=64, audio_hop_length=128, **small)
    assert default.tensors["audio"].shape == (30, 1, 32, 32)  # 32 hops of 256: 0.99 s
    assert wide.tensors["audio"].shape == (30, 1, 32, 64)  # the same span at a hop of 128
    assert default.fingerprint != wide.fingerprint  # a cache of one grid never serves the other


def test_missing_root_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(DataError, match="FSDD recordings folder not found"):
        load_dataset("avmnist", root=tmp_path, cache=False)
