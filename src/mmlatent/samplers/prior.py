"""The model's own prior N(0, I): the baseline every fitted sampler is compared against."""

from __future__ import annotations

import torch
from torch import Tensor

from mmlatent.registry import register_sampler
from mmlatent.samplers.base import LatentSampler


@register_sampler("prior")
class PriorSampler(LatentSampler):
    fitted_to_codes = False
    """Needs nothing of the codes but their width: usable for a model without an encoder."""

    def _fit(self, codes: Tensor, generator: torch.Generator) -> None:
        pass

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.dim, generator=generator)
