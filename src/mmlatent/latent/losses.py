"""Latent losses: how a model pulls its codes toward the prior N(0, I), chosen by name.

Any latent model takes one (``latent_loss`` in its config):
- ``kl``: the VAE term, KL(q(z|x) || p(z)) per sample (Kingma & Welling 2014); with beta != 1 a
  beta-VAE (Higgins et al. 2017).
- ``mmd``: MMD^2 between the batch of codes and prior draws (WAE-MMD, Tolstikhin et al. 2018):
  it matches the *aggregate* posterior to the prior, which is what sampling from the prior needs.
- ``adversarial``: a latent discriminator tells prior draws from codes and the encoder learns to
  fool it (AAE, Makhzani et al. 2016): at the optimum the JSD between the two.
- ``none``: no pull at all, a plain autoencoder (codes are posterior means, not draws).

A loss sees the codes ``z`` (B, D) and the model's own analytic ``kl`` (B,), and returns a
:class:`LatentPenalty`. The model adds ``beta * penalty + auxiliary`` to its objective.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmlatent.nn.adversarial import through_frozen
from mmlatent.registry import LATENT_LOSSES, register_latent_loss


@dataclass
class LatentPenalty:
    penalty: Tensor
    """Scalar pull toward the prior; the model weights it by beta."""
    auxiliary: Tensor
    """Scalar loss of the latent loss's own networks (a discriminator), never weighted; its
    gradient reaches only those networks."""
    terms: dict[str, Tensor] = field(default_factory=dict)
    """Logged values, keyed without a prefix."""


class LatentLoss(nn.Module):
    """Base class: ``forward(z, kl) -> LatentPenalty``."""

    registry_name: str = ""
    samples_codes: bool = True
    """Whether the model trains on draws from q(z|x) (True) or on its means (a plain AE)."""

    def forward(self, z: Tensor, kl: Tensor) -> LatentPenalty:
        raise NotImplementedError


def build_latent_loss(
    name: str, latent_dim: int, options: dict[str, Any] | None = None
) -> LatentLoss:
    """The registered latent loss ``name`` for codes of size ``latent_dim``; an unknown option is a
    ``ValueError`` naming the valid ones."""
    cls = LATENT_LOSSES.get(name)
    options = dict(options or {})
    valid = sorted(getattr(cls, "options", ()))
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown option {unknown[0]!r} for latent loss {name!r}; "
            f"valid options: {', '.join(valid) or 'none'}"
        )
    return cls(latent_dim, **options)


def check_kl_weight(kl_weight: float) -> None:
    """``kl_weight`` keeps part of the per-sample KL beside an aggregate loss (InfoVAE, Zhao et
    al. 2019): posteriors keep their spread, and unused dimensions stay at the prior."""
    if kl_weight < 0:
        raise ValueError(f"kl_weight must be >= 0, got {kl_weight}")


def _zero(z: Tensor) -> Tensor:
    return torch.zeros((), dtype=z.dtype, device=z.device)


@register_latent_loss("kl")
class KLLoss(LatentLoss):
    """The model's analytic KL to the prior, averaged over the batch (VAE, beta-VAE)."""

    options: tuple[str, ...] = ()

    def __init__(self, latent_dim: int) -> None:
        super().__init__()

    def forward(self, z: Tensor, kl: Tensor) -> LatentPenalty:
        return LatentPenalty(kl.mean(), _zero(z))


@register_latent_loss("none")
class NoLatentLoss(LatentLoss):
    """No pull toward the prior: a plain (multimodal) autoencoder on posterior means."""

    options: tuple[str, ...] = ()
    samples_codes = False

    def __init__(self, latent_dim: int) -> None:
        super().__init__()

    def forward(self, z: Tensor, kl: Tensor) -> LatentPenalty:
        return LatentPenalty(_zero(z), _zero(z))


# -- MMD ------------------------------------------------------------------------------------------


def squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """Pairwise ||x_i - y_j||^2 for (N, D) and (K, D): (N, K), clamped at 0 against round-off."""
    sq = x.pow(2).sum(-1, keepdim=True) + y.pow(2).sum(-1) - 2.0 * x @ y.T  # (N, K)
    return sq.clamp_min(0.0)


def rbf_kernel(x: Tensor, y: Tensor, scale: float) -> Tensor:
    """exp(-||x - y||^2 / scale)."""
    return torch.exp(-squared_distances(x, y) / scale)


def imq_kernel(x: Tensor, y: Tensor, scale: float) -> Tensor:
    """Inverse multiquadric scale / (scale + ||x - y||^2): heavy tails keep gradients alive for
    distant codes, the kernel WAE recommends (Tolstikhin et al. 2018, Sec. 4)."""
    return scale / (scale + squared_distances(x, y))


KERNELS: dict[str, Callable[[Tensor, Tensor, float], Tensor]] = {
    "rbf": rbf_kernel,
    "imq": imq_kernel,
}


def mmd(x: Tensor, y: Tensor, kernel: str = "imq", scale: float | None = None) -> Tensor:
    """Unbiased estimate of MMD^2 between samples x (N, D) and y (K, D), N, K >= 2 (Gretton et al.
    2012, eq. 3). ``scale`` defaults to 2 D, WAE's choice for a unit-variance prior."""
    if len(x) < 2 or len(y) < 2:
        raise ValueError("mmd needs at least two samples on each side")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {tuple(KERNELS)}, got {kernel!r}")
    k = KERNELS[kernel]
    c = float(2 * x.shape[-1]) if scale is None else scale
    return _off_diagonal_mean(k(x, x, c)) + _off_diagonal_mean(k(y, y, c)) - 2.0 * k(x, y, c).mean()


def _off_diagonal_mean(gram: Tensor) -> Tensor:
    """Mean of k(x_i, x_j) over i != j: dropping the diagonal is what makes MMD^2 unbiased."""
    n = len(gram)
    return (gram.sum() - gram.diagonal().sum()) / (n * (n - 1))


MULTI_SCALES: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
"""Multiples of 2 D averaged over when no single kernel scale is given: one bandwidth sees either
the clusters or the spread of the codes, not both. (The WAE authors' code sums them, so its
lambda is ours divided by len(MULTI_SCALES).)"""


@register_latent_loss("mmd")
class MMDLoss(LatentLoss):
    """MMD^2 between the batch's codes and as many N(0, I) draws (WAE-MMD).

    MMD^2 is a batch statistic of order 1/B, far below a summed reconstruction NLL; ``weight``
    puts it on that scale (WAE's lambda), so beta keeps its meaning of a relative weight.
    Without a ``scale`` MMD^2 is the mean of its values at the ``MULTI_SCALES``.
    """

    options: tuple[str, ...] = ("kernel", "scale", "weight", "kl_weight")

    def __init__(
        self,
        latent_dim: int,
        kernel: str = "imq",
        scale: float | None = None,
        weight: float = 1000.0,
        kl_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"mmd kernel must be one of {tuple(KERNELS)}, got {kernel!r}")
        if weight <= 0 or (scale is not None and scale <= 0):
            raise ValueError(f"mmd weight and scale must be > 0, got {weight}, {scale}")
        check_kl_weight(kl_weight)
        self.kernel, self.scale, self.weight, self.kl_weight = kernel, scale, weight, kl_weight

    def forward(self, z: Tensor, kl: Tensor) -> LatentPenalty:
        if len(z) < 2:  # one code says nothing about a distribution
            return LatentPenalty(_zero(z), _zero(z), {"mmd": _zero(z)})
        prior = torch.randn_like(z)
        base = 2.0 * z.shape[-1]
        scales = [self.scale] if self.scale is not None else [base * c for c in MULTI_SCALES]
        value = torch.stack([mmd(z, prior, self.kernel, c) for c in scales]).mean()
        penalty = self.weight * value + self.kl_weight * kl.mean()
        return LatentPenalty(penalty, _zero(z), {"mmd": value.detach()})


# -- adversarial ----------------------------------------------------------------------------------


@register_latent_loss("adversarial")
class AdversarialLatentLoss(LatentLoss):
    """A discriminator D on codes: prior draws are real, encoder codes are fake (AAE).

    Both players train under one optimiser. D's loss sees detached codes, so it moves D alone;
    the encoder's non-saturating loss, -log D(z), goes through D's detached weights
    (``through_frozen``), so it moves the encoder alone. Summing the two is then the same as
    alternating their steps.
    Outside training (validation, test) D's loss is logged but not added: it is D's objective,
    not the model's, and validation ranks epochs for early stopping by the model's alone.
    """

    options: tuple[str, ...] = ("hidden_dim", "weight", "kl_weight")

    def __init__(
        self, latent_dim: int, hidden_dim: int = 256, weight: float = 10.0, kl_weight: float = 0.0
    ) -> None:
        super().__init__()
        if hidden_dim < 1 or weight <= 0:
            raise ValueError(
                f"adversarial hidden_dim and weight must be > 0, got {hidden_dim}, {weight}"
            )
        check_kl_weight(kl_weight)
        self.weight, self.kl_weight = weight, kl_weight
        self.discriminator = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, hidden_dim),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, 1),
        )

    def forward(self, z: Tensor, kl: Tensor) -> LatentPenalty:
        prior = torch.randn_like(z)
        real, fake = self.discriminator(prior), self.discriminator(z.detach())  # (B, 1) logits
        d_loss = F.binary_cross_entropy_with_logits(
            real, torch.ones_like(real)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        fooled = through_frozen(self.discriminator, z)  # (B, 1)
        g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        terms = {"disc": d_loss.detach(), "adv": g_loss.detach()}
        auxiliary = d_loss if self.training else torch.zeros_like(d_loss)
        return LatentPenalty(self.weight * g_loss + self.kl_weight * kl.mean(), auxiliary, terms)
