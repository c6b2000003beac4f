"""Plain data shared by every layer: what a modality looks like, and what a batch is.

Models are built from ``ModalitySpec``s alone, so a saved model reloads without the data layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict

from torch import Tensor

Kind = Literal["image", "text", "audio", "vector"]
Likelihood = Literal["bernoulli", "gaussian", "laplace", "categorical"]
KINDS: tuple[str, ...] = ("image", "text", "audio", "vector")
LIKELIHOODS: tuple[str, ...] = ("bernoulli", "gaussian", "laplace", "categorical")


@dataclass(frozen=True, kw_only=True)
class ModalitySpec:
    """What a model needs to know about one modality's tensors."""

    name: str
    """Key of this modality in every batch, e.g. ``"image"``."""
    kind: Kind
    """Which family of networks encodes and decodes it."""
    shape: tuple[int, ...]
    """Shape of one preprocessed sample: image (C, H, W); audio log-mel (1, n_mels, frames);
    text token ids (max_len,); vector (D,)."""
    likelihood: Likelihood
    """Decoder output distribution; ``categorical`` for token ids."""
    vocab_size: int | None = None
    """Number of token ids (text only)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"modality {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}"
            )
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(
                f"modality {self.name!r}: likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}"
            )
        if any(int(s) <= 0 for s in self.shape):
            raise ValueError(f"modality {self.name!r}: shape must be positive, got {self.shape}")
        if self.kind == "text" and (self.vocab_size is None or self.vocab_size < 2):
            raise ValueError(f"modality {self.name!r}: text needs vocab_size >= 2")
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModalitySpec:
        return cls(**{**d, "shape": tuple(d["shape"])})


class Batch(TypedDict, total=False):
    """One mini-batch.

    ``data[m]`` has shape (B, *spec.shape); where ``mask[m][i]`` is False the values of sample i
    are placeholders that no model may read. ``label`` is -1 where unknown.
    """

    data: dict[str, Tensor]
    mask: dict[str, Tensor]
    label: Tensor
