"""Diagonal Gaussians: the posteriors every encoder and every fusion rule produces."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

LOGVAR_MIN = -30.0
"""Smallest log-variance kept (std ~ 3e-7); below it ``exp(-logvar)`` nears float32 overflow."""
LOGVAR_MAX = 20.0
"""Largest log-variance kept (std ~ 2e4); above it draws and the KL's ``exp(logvar)`` blow up.
The same range as diffusers' ``DiagonalGaussianDistribution``."""

_LOG_2PI = math.log(2.0 * math.pi)


def clamp_logvar(logvar: Tensor) -> Tensor:
    """The one place log-variances are bounded, so no later ``exp`` can overflow to inf/NaN."""
    return logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension: shape (...,)."""
    return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)


@dataclass
class Gaussian:
    """N(mean, diag(exp(logvar))) over the last dimension; leading dimensions are a batch.

    Usually (B, D); fusion also builds (B, S, D) stacks of subset posteriors.
    """

    mean: Tensor
    logvar: Tensor

    def __post_init__(self) -> None:
        if self.mean.shape != self.logvar.shape:
            raise ValueError(
                f"mean {tuple(self.mean.shape)} and logvar {tuple(self.logvar.shape)} differ"
            )
        self.logvar = clamp_logvar(self.logvar)

    @property
    def std(self) -> Tensor:
        return torch.exp(0.5 * self.logvar)

    @property
    def var(self) -> Tensor:
        return torch.exp(self.logvar)

    def rsample(self, generator: torch.Generator | None = None) -> Tensor:
        """Reparameterised draw mean + std * eps (Kingma & Welling 2014), differentiable."""
        eps = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + self.std * eps

    def kl_standard_normal(self) -> Tensor:
        """KL(q || N(0, I)) in closed form, summed over the last dimension: shape (...,)."""
        return 0.5 * (self.var + self.mean.pow(2) - 1.0 - self.logvar).sum(-1)

    def kl(self, other: Gaussian) -> Tensor:
        """KL(self || other) in closed form, summed over the last dimension: shape (...,).

        Written with differences of log-variances, so no variance is divided by another.
        """
        ratio = torch.exp(self.logvar - other.logvar)  # var_self / var_other
        mahalanobis = (self.mean - other.mean).pow(2) * torch.exp(-other.logvar)
        return 0.5 * (ratio + mahalanobis - 1.0 - (self.logvar - other.logvar)).sum(-1)

    def log_prob(self, z: Tensor) -> Tensor:
        """log q(z), summed over the last dimension: shape (...,)."""
        sq = (z - self.mean).pow(2) * torch.exp(-self.logvar)
        return -0.5 * (sq + self.logvar + _LOG_2PI).sum(-1)

    def detach(self) -> Gaussian:
        return Gaussian(self.mean.detach(), self.logvar.detach())
