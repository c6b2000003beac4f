"""The model's own prior: the baseline every fitted sampler is compared against."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mmlatent.registry import register_sampler
from mmlatent.samplers.base import LatentSampler


@register_sampler("prior")
class PriorSampler(LatentSampler):
    fitted_to_codes = False
    """Needs nothing of the codes but their width: usable for a model without an encoder."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.model: Any = None

    def _fit(self, codes: Tensor, generator: torch.Generator) -> None:
        pass

    def bind_model(self, model: Any) -> None:
        """Draw from ``model.prior_draw`` from now on, so a learned or a Laplace prior is the one
        sampled (unbound, it draws N(0, I))."""
        self.model = model

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        if self.model is None:
            return torch.randn(n, self.dim, generator=generator)
        with torch.no_grad():
            return self.model.prior_draw(n, generator=generator).cpu()
