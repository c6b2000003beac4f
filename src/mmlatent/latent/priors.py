"""The prior p(z) of a latent model: N(0, I) or Laplace(0, 1), or one learned with the model.

With a fixed N(0, I), the KL term pulls each posterior toward the origin, but nothing makes the
codes of the whole training set, correlated and clustered, look like N(0, I); draws from it then
land where no code lies. A learned prior N(mu, L L^T) moves toward the codes instead: for fixed
encoders, the Gaussian that maximises the ELBO is the one matched to the aggregate posterior's
mean and covariance. Shi et al. (2019) and MultiVae's MMVAE learn a diagonal prior; on AV-MNIST
a diagonal Gaussian fitted to MoPoE's codes barely beat N(0, I) where a full one passed
MultiVae's figure (docs/zoo.md), so this one is full. L is lower-triangular with a positive
diagonal (``exp`` of a clamped log), so the covariance stays positive definite. Products of
experts keep their N(0, I) expert: it belongs to the encoder (it shapes q, and any q gives a
valid bound), not to the model's prior.

MMVAE's Laplace experts come with a Laplace prior (Shi et al. 2019): ``LaplacePrior`` is
Laplace(0, 1), or, learned, a diagonal Laplace(mean, b) trained the same way, as Shi et al. and
MultiVae learn theirs (a multivariate Laplace has no simple full-covariance form).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from mmlatent.latent.distributions import Gaussian, standard_normal_log_prob
from mmlatent.latent.laplace import Laplace, standard_laplace_log_prob

PRIORS: tuple[str, ...] = ("standard", "learned")
LOG_SCALE_LIMIT = 7.0
"""Bound of the log of L's diagonal (scales e^-7 to e^7), so L never becomes singular."""

_LOG_2PI = math.log(2.0 * math.pi)


class Prior(nn.Module, ABC):
    """What a latent model asks of its prior: density, draws and mode over D dimensions. Fixed
    (``learned=False``) it has no parameters and nothing in the state dict; learned, it starts
    at its fixed form and trains with the model."""

    mean: nn.Parameter  # (D,) location, learned priors only

    def __init__(self, dim: int, *, learned: bool) -> None:
        super().__init__()
        self.dim, self.learned = dim, learned

    @abstractmethod
    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z), over the last dimension: shape (...,)."""

    @abstractmethod
    def standard_draws(
        self, n: int, device: torch.device, generator: torch.Generator | None
    ) -> Tensor:
        """(n, D) draws from the fixed form (N(0, I), Laplace(0, 1)) on ``device``."""

    @abstractmethod
    def from_standard(self, eps: Tensor) -> Tensor:
        """The learned prior's draws from the fixed form's: both families are location-scale."""

    def sample(
        self,
        n: int,
        *,
        device: torch.device | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """(n, D) draws; with a CPU ``generator`` the noise is drawn on the CPU, then moved."""
        device = device if device is not None else self._device()
        noise_device = generator.device if generator is not None else device
        eps = self.standard_draws(n, noise_device, generator).to(device)
        return self.from_standard(eps) if self.learned else eps

    def mode(self, n: int, *, device: torch.device | None = None) -> Tensor:
        """(n, D) copies of the prior's most likely code, its location ``mean`` (0 if fixed)."""
        device = device if device is not None else self._device()
        if not self.learned:
            return torch.zeros((n, self.dim), device=device)
        return self.mean.detach().expand(n, -1).to(device)

    def _device(self) -> torch.device:
        parameter = next(self.parameters(), None)
        return parameter.device if parameter is not None else torch.device("cpu")


class GaussianPrior(Prior):
    """p(z) = N(0, I), or N(mean, L L^T) with ``mean`` and L trained with the model."""

    def __init__(self, dim: int, *, learned: bool) -> None:
        super().__init__(dim, learned=learned)
        if learned:
            self.mean = nn.Parameter(torch.zeros(dim))
            # below the diagonal: L's entries; on it: the log of L's diagonal (0: L = I)
            self.raw_scale = nn.Parameter(torch.zeros(dim, dim))

    def scale_tril(self) -> Tensor:
        """L: (D, D) lower-triangular, positive diagonal."""
        if not self.learned:
            return torch.eye(self.dim)
        log_diag = torch.diagonal(self.raw_scale).clamp(-LOG_SCALE_LIMIT, LOG_SCALE_LIMIT)
        return torch.tril(self.raw_scale, -1) + torch.diag(torch.exp(log_diag))

    def _inverse_scale(self) -> tuple[Tensor, Tensor]:
        """(L^-1, log |det L|)."""
        scale = self.scale_tril()
        eye = torch.eye(self.dim, device=scale.device, dtype=scale.dtype)
        inverse = torch.linalg.solve_triangular(scale, eye, upper=False)
        return inverse, torch.log(torch.diagonal(scale)).sum()

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z), over the last dimension: shape (...,)."""
        if not self.learned:
            return standard_normal_log_prob(z)
        inverse, log_det = self._inverse_scale()
        white = (z - self.mean) @ inverse.T  # L^-1 (z - mean), (..., D)
        return -0.5 * (white.pow(2) + _LOG_2PI).sum(-1) - log_det

    def kl(self, q: Gaussian) -> Tensor:
        """KL(q || p) for a diagonal Gaussian q, in closed form: shape (...,)."""
        if not self.learned:
            return q.kl_standard_normal()
        inverse, log_det = self._inverse_scale()
        precision_diag = inverse.pow(2).sum(0)  # diag of (L L^T)^-1
        trace = (q.var * precision_diag).sum(-1)
        mahalanobis = ((q.mean - self.mean) @ inverse.T).pow(2).sum(-1)
        return 0.5 * (trace + mahalanobis - self.dim + 2.0 * log_det - q.logvar.sum(-1))

    def standard_draws(
        self, n: int, device: torch.device, generator: torch.Generator | None
    ) -> Tensor:
        return torch.randn((n, self.dim), generator=generator, device=device)

    def from_standard(self, eps: Tensor) -> Tensor:
        return self.mean + eps @ self.scale_tril().T


class LaplacePrior(Prior):
    """p(z) = Laplace(0, 1) per dimension, or Laplace(mean, b) with ``mean`` and log b learned
    (log b kept within the bounds of ``Laplace``'s, so draws and densities stay finite)."""

    def __init__(self, dim: int, *, learned: bool) -> None:
        super().__init__(dim, learned=learned)
        if learned:
            self.mean = nn.Parameter(torch.zeros(dim))
            self.logscale = nn.Parameter(torch.zeros(dim))

    def learned_distribution(self) -> Laplace:
        """The learned prior as a ``Laplace`` over D dimensions (which clamps log b)."""
        return Laplace(self.mean, self.logscale)

    def log_prob(self, z: Tensor) -> Tensor:
        if not self.learned:
            return standard_laplace_log_prob(z)
        return self.learned_distribution().log_prob(z)

    def standard_draws(
        self, n: int, device: torch.device, generator: torch.Generator | None
    ) -> Tensor:
        zeros = torch.zeros((n, self.dim), device=device)
        return Laplace(zeros, zeros).rsample(generator)

    def from_standard(self, eps: Tensor) -> Tensor:
        prior = self.learned_distribution()
        return prior.mean + prior.scale * eps
