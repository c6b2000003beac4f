"""Shared last step of every data set: raw columns -> preprocessed tensors with masks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mmlatent.data.modalities import AudioModality, Modality, TextModality


def full_column(modality: Modality, raws: Sequence[Any] | np.ndarray) -> tuple[Tensor, Tensor]:
    """Every row present: (N, *shape) tensor and an all-True mask."""
    x = modality.preprocess_many(raws)
    return x, torch.ones(len(x), dtype=torch.bool)


def sparse_column(modality: Modality, raws: Sequence[Any | None]) -> tuple[Tensor, Tensor]:
    """Rows that are None are missing: placeholder zeros there and mask False."""
    present = [i for i, r in enumerate(raws) if r is not None]
    x = modality.placeholder().expand(len(raws), *modality.spec.shape).clone()  # (N, *shape)
    mask = torch.zeros(len(raws), dtype=torch.bool)
    if present:
        x[present] = modality.preprocess_many([raws[i] for i in present]).to(x.dtype)
        mask[present] = True
    return x, mask


def labels_tensor(labels: Sequence[int] | np.ndarray) -> Tensor:
    return torch.as_tensor(np.asarray(labels, dtype=np.int64))


def spoken_and_captioned(
    options: dict[str, Any], *, audio_frames: int, audio_hop_length: int, text_max_len: int | None
) -> tuple[AudioModality, TextModality]:
    """The audio and text modalities of a data set of spoken, captioned digits, with their shape
    options added to ``options`` (the cache key); a text length only when set, so the default's
    key stays as it was."""
    options |= {"audio_frames": audio_frames, "audio_hop_length": audio_hop_length}
    if text_max_len is not None:
        options["text_max_len"] = text_max_len
    return AudioModality(frames=audio_frames, hop_length=audio_hop_length), TextModality(
        max_len=text_max_len
    )
