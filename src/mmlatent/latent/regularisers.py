"""Latent regularisers: how far the codes are from the prior N(0, I).

Each registered regulariser maps ``(posterior, z)`` (a (B, D) ``Gaussian`` and a (B, D) draw from
it) to a scalar batch mean, so models can switch between them by name (``REGULARISERS``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmlatent.latent.distributions import Gaussian

Regulariser = Callable[[Gaussian, Tensor], Tensor]
REGULARISERS: dict[str, Regulariser] = {}


def register_regulariser(name: str) -> Callable[[Regulariser], Regulariser]:
    def decorator(fn: Regulariser) -> Regulariser:
        if name in REGULARISERS:
            raise ValueError(f"regulariser {name!r} is registered twice")
        REGULARISERS[name] = fn
        return fn

    return decorator


def get_regulariser(name: str) -> Regulariser:
    try:
        return REGULARISERS[name]
    except KeyError:
        raise ValueError(
            f"unknown regulariser {name!r}; choose one of: {', '.join(sorted(REGULARISERS))}"
        ) from None


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


@register_regulariser("kl")
def kl_regulariser(posterior: Gaussian, z: Tensor) -> Tensor:
    """Mean over the batch of KL(q(z|x) || N(0, I)), the VAE term."""
    return posterior.kl_standard_normal().mean()


def _mmd_to_prior(kernel: str) -> Regulariser:
    def regulariser(posterior: Gaussian, z: Tensor) -> Tensor:
        prior = torch.randn(z.shape, device=z.device, dtype=z.dtype)
        return mmd(z, prior, kernel)

    regulariser.__doc__ = f"MMD^2 ({kernel} kernel) between the codes and N(0, I) draws (WAE-MMD)."
    return regulariser


register_regulariser("mmd_imq")(_mmd_to_prior("imq"))
register_regulariser("mmd_rbf")(_mmd_to_prior("rbf"))
