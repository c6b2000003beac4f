"""The model's own prior: the baseline every fitted sampler is compared against."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mmlatent.latent.temperature import tempered_normal
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

    def _sample(self, n: int, generator: torch.Generator | None, temperature: float) -> Tensor:
        """The prior's draws tempered toward its mode (the model's ``prior_draw``)."""
        if self.model is None:
            return tempered_normal((n, self.dim), temperature, generator=generator)
        with torch.no_grad():
            return self.model.prior_draw(n, temperature, generator=generator).cpu()
