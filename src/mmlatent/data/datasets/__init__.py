"""Data sets, each a registered function returning a ``MultimodalData``.

Importing this package imports every data set module, so each registers itself in ``DATASETS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from mmlatent.data.datasets import avmnist, digits, manifest  # noqa: F401 - they register
from mmlatent.data.datasets.base import SPLITS, MultimodalData, random_splits
from mmlatent.data.datasets.sentence import with_sentence_features
from mmlatent.data.errors import DataError
from mmlatent.registry import DATASETS

__all__ = [
    "DATASETS",
    "SPLITS",
    "MultimodalData",
    "load_dataset",
    "random_splits",
    "shape_options",
]

SHAPE_OPTIONS: dict[tuple[str, str], str] = {
    ("text", "max_len"): "text_max_len",
    ("audio", "frames"): "audio_frames",
    ("audio", "hop_length"): "audio_hop_length",
}
"""(modality kind, key of its saved state) -> the data set option that sets it."""


def shape_options(name: str, states: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Options of data set ``name`` that rebuild tensors of the shapes in ``states`` (a run's
    saved modalities): a run keeps working after a default shape changes."""
    accepted = inspect.signature(DATASETS.get(name)).parameters if name in DATASETS else {}
    options: dict[str, Any] = {}
    for state in states.values():
        for (kind, key), option in SHAPE_OPTIONS.items():
            if state.get("kind") == kind and key in state and option in accepted:
                options[option] = state[key]
    return options


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
