"""MNIST's IDX format, parsed directly (gzip or raw): big-endian int32 magic, counts, then uint8 data."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from mmlatent.data.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot read IDX file ({err})") from err


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Images (N, rows, cols) for magic 2051, labels (N,) for 2049, as uint8; sizes checked."""
    path = Path(path)
    raw = _read_bytes(path)
    n_dims = 3 if magic == IMAGES_MAGIC else 1
    header = 4 * (1 + n_dims)
    if len(raw) < header:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    found, *dims = struct.unpack(f">{1 + n_dims}i", raw[:header])
    if found != magic:
        raise DataError(f"{path}: IDX magic {found}, expected {magic}")
    expected = int(np.prod(dims))
    if min(dims) < 0 or len(raw) - header != expected:
        raise DataError(
            f"{path}: header says {dims} ({expected} bytes) but {len(raw) - header} follow"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_mnist(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of MNIST's ``train`` or ``t10k`` files."""
    images = read_idx(folder / f"{split}-images-idx3-ubyte.gz", IMAGES_MAGIC)
    labels = read_idx(folder / f"{split}-labels-idx1-ubyte.gz", LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{folder}: {split} has {len(images)} images but {len(labels)} labels")
    if labels.max(initial=0) > 9:
        raise DataError(f"{folder}: {split} labels must be digits 0-9, found {labels.max()}")
    return images, labels.astype(np.int64)
