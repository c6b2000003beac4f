"""Data sets, each a registered function returning a ``MultimodalData``.

Importing this package imports every data set module, so each registers itself in ``DATASETS``.
"""

from __future__ import annotations

from typing import Any

from mmlatent.data.datasets import avmnist, digits, manifest  # noqa: F401 - they register
from mmlatent.data.datasets.base import SPLITS, MultimodalData, random_splits
from mmlatent.data.errors import DataError
from mmlatent.registry import DATASETS

__all__ = ["DATASETS", "SPLITS", "MultimodalData", "load_dataset", "random_splits"]


def load_dataset(name: str, **options: Any) -> MultimodalData:
    """Build (or load from the cache) the registered data set ``name`` with ``options``."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS.names())}")
    return DATASETS.get(name)(**options)
