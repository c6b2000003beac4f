"""Data sets, each a registered function returning a ``MultimodalData``.

Importing this package imports every data set module, so each registers itself in ``DATASETS``.
"""

from __future__ import annotations

from typing import Any

from mmlatent.data.datasets import avmnist, digits, manifest  # noqa: F401 - they register
from mmlatent.data.datasets.base import SPLITS, MultimodalData, random_splits
from mmlatent.data.datasets.sentence import with_sentence_features
from mmlatent.data.errors import DataError
from mmlatent.registry import DATASETS

__all__ = ["DATASETS", "SPLITS", "MultimodalData", "load_dataset", "random_splits"]


def load_dataset(name: str, *, sentence_features: bool = False, **options: Any) -> MultimodalData:
    """Build (or load from the cache) the registered data set ``name`` with ``options``.

    ``sentence_features`` (any data set with one text modality) adds a ``sentence`` modality:
    frozen MiniLM features of each caption (:mod:`mmlatent.data.datasets.sentence`).
    """
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS.names())}")
    data = DATASETS.get(name)(**options)
    return (
        with_sentence_features(data, cache=options.get("cache", True))
        if sentence_features
        else data
    )
