"""Log-likelihoods of data under decoder outputs, and the data-space value a decoder stands for.

Parameters per family: ``bernoulli`` logits (targets may be soft, in [0, 1]); ``gaussian`` and
``laplace`` means with a fixed scale (a model-level setting: a learned scale lets a confident
modality shrink it and drown the others); ``categorical`` logits (B, L, V) over token ids (B, L).
Text pads are predicted like any token: decoding then says where the sentence ends, and no
separate length model is needed. Every formula goes through logits or logs, never through
``log(sigmoid)`` or ``log(softmax)``, so valid inputs give finite values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from mmlatent.types import ModalitySpec

_LOG_2PI = math.log(2.0 * math.pi)


def _flat_sum(x: Tensor) -> Tensor:
    return x.reshape(len(x), -1).sum(-1)  # (B, ...) -> (B,)


def _bernoulli(logits: Tensor, target: Tensor, scale: float) -> Tensor:
    return -_flat_sum(F.binary_cross_entropy_with_logits(logits, target, reduction="none"))


def _gaussian(mean: Tensor, target: Tensor, scale: float) -> Tensor:
    z = (target - mean) / scale
    return _flat_sum(-0.5 * z.pow(2) - math.log(scale) - 0.5 * _LOG_2PI)


def _laplace(mean: Tensor, target: Tensor, scale: float) -> Tensor:
    return _flat_sum(-(target - mean).abs() / scale - math.log(2.0 * scale))


def _categorical(logits: Tensor, target: Tensor, scale: float) -> Tensor:
    nll = F.cross_entropy(logits.transpose(1, 2), target.long(), reduction="none")  # (B, L)
    return -nll.sum(-1)


_LOG_LIKELIHOODS: dict[str, Callable[[Tensor, Tensor, float], Tensor]] = {
    "bernoulli": _bernoulli,
    "gaussian": _gaussian,
    "laplace": _laplace,
    "categorical": _categorical,
}


def log_likelihood(
    likelihood: str, params: Tensor, target: Tensor, *, scale: float = 1.0
) -> Tensor:
    """log p(target | params), summed over each sample's dimensions: (B,).

    ``scale`` is the fixed std (gaussian) or scale (laplace); other families ignore it.
    """
    if likelihood not in _LOG_LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {tuple(_LOG_LIKELIHOODS)}, got {likelihood!r}")
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return _LOG_LIKELIHOODS[likelihood](params, target, scale)


def to_data(likelihood: str, params: Tensor, *, unit_interval: bool = False) -> Tensor:
    """The data a decoder output stands for: probabilities (bernoulli), means (gaussian, laplace;
    clamped to [0, 1] with ``unit_interval``, as image and audio data are), argmax ids (categorical)."""
    if likelihood == "bernoulli":
        return torch.sigmoid(params)
    if likelihood in ("gaussian", "laplace"):
        return params.clamp(0.0, 1.0) if unit_interval else params
    if likelihood == "categorical":
        return params.argmax(-1)
    raise ValueError(f"likelihood must be one of {tuple(_LOG_LIKELIHOODS)}, got {likelihood!r}")


def event_size(spec: ModalitySpec) -> int:
    """Number of observed values per sample (token positions for text): what the likelihood
    sums over, and what per-modality rescaling compares."""
    return math.prod(spec.shape)


def is_unit_interval(spec: ModalitySpec) -> bool:
    """Image and audio data live in [0, 1] (the data team's contract)."""
    return spec.kind in ("image", "audio")
