"""``sentence_features=True`` on any data set with one text modality: a ``sentence`` column of
frozen all-MiniLM-L6-v2 features of each caption, for models conditioned on pretrained meaning.

The captions are read back from their token ids (as the tokenizer sees them), embedded once per
distinct caption, and the column is cached beside the data set (safetensors), so only the first
load runs MiniLM. The data set's fingerprint is kept: every other modality, and its judge, is
the same as without the column.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from safetensors.torch import load_file, save_file

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.datasets.cache import cache_root
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import SentenceModality, TextModality

SENTENCE = "sentence"


def with_sentence_features(data: MultimodalData, *, cache: bool = True) -> MultimodalData:
    """``data`` with a ``sentence`` modality: MiniLM features of its text, present where the
    text is."""
    texts = [m for m, modality in data.modalities.items() if isinstance(modality, TextModality)]
    if len(texts) != 1:
        raise DataError(
            f"sentence_features needs exactly one text modality; data set {data.name!r} has "
            f"{texts or 'none'}"
        )
    source = texts[0]
    modality = SentenceModality(SENTENCE)
    path = cache_root() / f"{data.fingerprint}-{SENTENCE}.safetensors"
    if cache and data.fingerprint and path.is_file():
        features = load_file(str(path))[SENTENCE]
    else:
        features = _features(data, source, modality)
        if cache and data.fingerprint:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file({SENTENCE: features}, str(path))
    return replace(
        data,
        modalities={**data.modalities, SENTENCE: modality},
        tensors={**data.tensors, SENTENCE: features},
        masks={**data.masks, SENTENCE: data.masks[source].clone()},
    )


def _features(data: MultimodalData, source: str, modality: SentenceModality) -> torch.Tensor:
    """(N, 384): the features of each present caption, zeros where the text is missing."""
    text = data.modalities[source]
    assert isinstance(text, TextModality)
    rows = data.masks[source].nonzero().squeeze(-1)
    features = torch.zeros(len(data), *modality.spec.shape)
    features[rows] = modality.preprocess_many(text.decode_batch(data.tensors[source][rows]))
    return features
