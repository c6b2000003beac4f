"""Diagonal Laplace distributions: the posteriors and prior of MMVAE (Shi et al., NeurIPS 2019).

Heavier tails than a Gaussian; Shi et al. use Laplace experts and a Laplace(0, 1) prior, which
they report encourage disentangled, sparse codes. Encoders predict a log-variance for either
family: a Laplace with scale b has variance 2 b^2, so :meth:`Laplace.from_mean_logvar` reads the
same encoder head and keeps the variance within the bounds ``Gaussian`` uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mmlatent.latent.distributions import LOGVAR_MAX, LOGVAR_MIN, clamp_logvar

_LOG_2 = math.log(2.0)

LOGSCALE_MIN = 0.5 * (LOGVAR_MIN - _LOG_2)
"""Smallest log-scale kept: the variance 2 b^2 of a Laplace then stays at or above the smallest
Gaussian variance."""
LOGSCALE_MAX = 0.5 * (LOGVAR_MAX - _LOG_2)
"""Largest log-scale kept (variance at most the largest Gaussian variance)."""


@dataclass
class Laplace:
    """Laplace(mean, exp(logscale)) per dimension, over the last dimension; leading ones batch."""

    mean: Tensor
    """Location, which is also the mean (and median)."""
    logscale: Tensor
    """log b; clamped to [``LOGSCALE_MIN``, ``LOGSCALE_MAX``] on construction."""

    def __post_init__(self) -> None:
        if self.mean.shape != self.logscale.shape:
            raise ValueError(
                f"mean {tuple(self.mean.shape)} and logscale {tuple(self.logscale.shape)} differ"
            )
        self.logscale = self.logscale.clamp(LOGSCALE_MIN, LOGSCALE_MAX)

    @classmethod
    def from_mean_logvar(cls, mean: Tensor, logvar: Tensor) -> Laplace:
        """The Laplace with this mean and variance exp(logvar) = 2 b^2."""
        return cls(mean, 0.5 * (clamp_logvar(logvar) - _LOG_2))

    @property
    def scale(self) -> Tensor:
        return torch.exp(self.logscale)

    @property
    def var(self) -> Tensor:
        """2 b^2."""
        return 2.0 * torch.exp(2.0 * self.logscale)

    def rsample(self, generator: torch.Generator | None = None) -> Tensor:
        """Reparameterised draw by the inverse CDF: mean - b sign(u) log(1 - |u|), u ~ U(-1, 1).

        ``u`` is kept off -1, so ``log(1 - |u|)`` is at least log(eps) and never -inf (as
        ``torch.distributions.Laplace`` does).
        """
        u = torch.rand(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        u = (2.0 * u - 1.0).clamp_min(torch.finfo(u.dtype).eps - 1.0)
        return self.mean - self.scale * torch.sign(u) * torch.log1p(-u.abs())

    def log_prob(self, z: Tensor) -> Tensor:
        """log q(z), summed over the last dimension: shape (...,); broadcasts like tensors do."""
        return (-(z - self.mean).abs() * torch.exp(-self.logscale) - self.logscale - _LOG_2).sum(-1)

    def kl_standard_laplace(self) -> Tensor:
        """KL(q || Laplace(0, 1)) in closed form, summed over the last dimension: (...,).

        Per dimension: -log b + |mu| + b exp(-|mu| / b) - 1; the exponent is <= 0, so it cannot
        overflow.
        """
        b, distance = self.scale, self.mean.abs()
        return (-self.logscale + distance + b * torch.exp(-distance / b) - 1.0).sum(-1)

    def detach(self) -> Laplace:
        return Laplace(self.mean.detach(), self.logscale.detach())


def standard_laplace_log_prob(z: Tensor) -> Tensor:
    """log Laplace(z; 0, 1), summed over the last dimension: (...,)."""
    return (-z.abs() - _LOG_2).sum(-1)
