"""The model's own prior N(0, I): the baseline every fitted sampler is compared against."""

from __future__ import annotations

import torch
from torch import Tensor

from mmlatent.registry import register_sampler
from mmlatent.samplers.base import LatentSampler


@register_sampler("prior")
class PriorSampler(LatentSampler):
    def _fit(self, codes: Tensor) -> None:
        pass

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.dim, generator=generator)
