"""Latent samplers: densities fitted to a trained model's codes, used for unconditional generation.

A sampler knows nothing of models (``fit`` takes a tensor of codes); any model's
``generate(latent=sampler.sample(n))`` can use any sampler. Ex-post density estimation in latent
space: Ghosh et al., "From Variational to Deterministic Autoencoders", ICLR 2020.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor


class LatentSampler(ABC):
    def fit(self, codes: Tensor) -> LatentSampler:
        """Fit to codes (N, D); returns self."""
        if codes.ndim != 2 or len(codes) == 0:
            raise ValueError(
                f"codes must be a non-empty (N, D) tensor, got shape {tuple(codes.shape)}"
            )
        if not torch.isfinite(codes).all():
            raise ValueError("codes contain NaN or inf; the model that produced them diverged")
        self.dim = codes.shape[1]
        self._fit(codes.detach().to("cpu", torch.float64))
        return self

    @abstractmethod
    def _fit(self, codes: Tensor) -> None: ...

    @abstractmethod
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n codes (n, D), float32 on the CPU."""
