"""A Gaussian mixture fitted to the training codes, its size chosen by BIC (scikit-learn's EM).

The aggregate posterior of a VAE rarely fills the prior; sampling where the codes actually lie
gives more coherent unconditional samples (Ghosh et al., ICLR 2020, section 4). scikit-learn only
fits: the mixture is kept as three tensors (weights, means, covariances) and sampled in torch, so
a saved mixture reloads without pickle and draws through the caller's ``torch.Generator``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor

from mmlatent.config import ConfigError
from mmlatent.latent.temperature import tempered
from mmlatent.registry import register_sampler
from mmlatent.samplers.base import LatentSampler

log = logging.getLogger(__name__)

COVARIANCE_TYPES = ("full", "diag")


@dataclass(kw_only=True)
class GaussianMixtureOptions:
    n_components: int | None = None
    """A fixed number of components; None: the one of ``min_components..max_components`` with
    the lowest BIC on the codes."""
    min_components: int = 1
    """Smallest mixture BIC considers."""
    max_components: int = 20
    """Largest mixture BIC considers."""
    covariance_type: str = "full"
    """``full`` (correlated dimensions) or ``diag`` (far fewer parameters)."""
    reg_covar: float = 1e-5
    """Added to every covariance's diagonal, so no component collapses onto a few codes."""

    def __post_init__(self) -> None:
        if self.n_components is not None and self.n_components < 1:
            raise ConfigError(f"gmm option n_components must be >= 1, got {self.n_components}")
        if not 1 <= self.min_components <= self.max_components:
            raise ConfigError(
                "gmm options must satisfy 1 <= min_components <= max_components, got "
                f"{self.min_components} and {self.max_components}"
            )
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ConfigError(
                f"gmm option covariance_type must be one of {COVARIANCE_TYPES}, "
                f"got {self.covariance_type!r}"
            )
        if self.reg_covar < 0:
            raise ConfigError(f"gmm option reg_covar must be >= 0, got {self.reg_covar}")


@register_sampler("gmm")
class GaussianMixtureSampler(LatentSampler):
    options_class = GaussianMixtureOptions
    state_attributes = ("weights", "means", "covariances")
    options: GaussianMixtureOptions

    weights: Tensor
    """(K,) mixing proportions."""
    means: Tensor
    """(K, D)."""
    covariances: Tensor
    """(K, D, D) for ``full``, (K, D) variances for ``diag``."""

    def _fit(self, codes: Tensor, generator: torch.Generator) -> None:
        from sklearn.mixture import GaussianMixture  # only fitting needs scikit-learn
        from threadpoolctl import threadpool_limits

        opt = self.options
        candidates = (
            [opt.n_components]
            if opt.n_components is not None
            else list(range(opt.min_components, opt.max_components + 1))
        )
        if len(codes) < max(candidates):
            # A small data set (a user's manifest) still gets a sampler, with fewer components.
            log.warning("only %d codes: at most %d mixture components", len(codes), len(codes))
            candidates = sorted({min(k, len(codes)) for k in candidates})
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        x = codes.numpy()
        best, bic = None, {}
        with threadpool_limits(1):  # small matrices: BLAS threads only wait on each other
            for k in candidates:
                mixture = GaussianMixture(
                    n_components=k,
                    covariance_type=opt.covariance_type,
                    reg_covar=opt.reg_covar,
                    random_state=seed,
                ).fit(x)
                bic[k] = float(mixture.bic(x))
                if best is None or bic[k] < bic[best.n_components]:
                    best = mixture
        assert best is not None
        self.weights = torch.from_numpy(best.weights_).double()
        self.means = torch.from_numpy(best.means_).double()
        self.covariances = torch.from_numpy(best.covariances_).double()
        self.info = {"n_components": best.n_components, "bic": bic}
        self._check_state()

    def _check_state(self) -> None:
        """Shapes that agree and covariances that factor; sets the Cholesky factors for sampling."""
        k, d = len(self.weights), self.dim
        cov_shape = (k, d, d) if self.options.covariance_type == "full" else (k, d)
        if self.means.shape != (k, d) or self.covariances.shape != cov_shape:
            raise ValueError(
                f"mixture tensors disagree: weights {tuple(self.weights.shape)}, means "
                f"{tuple(self.means.shape)}, covariances {tuple(self.covariances.shape)} "
                f"(expected {cov_shape} for dim {d})"
            )
        if (self.weights < 0).any() or abs(float(self.weights.sum()) - 1) > 1e-6:
            raise ValueError("mixture weights must be >= 0 and sum to 1")
        if self.options.covariance_type == "full":
            factor, bad = torch.linalg.cholesky_ex(self.covariances.double())
            if bad.any():
                raise ValueError("a mixture covariance is not positive definite")
            self._scale = factor  # (K, D, D)
        else:
            if (self.covariances <= 0).any():
                raise ValueError("mixture variances must be > 0")
            self._scale = torch.diag_embed(self.covariances.double().sqrt())  # (K, D, D)

    def _sample(self, n: int, generator: torch.Generator | None, temperature: float) -> Tensor:
        """A component chosen by weight, then a draw from it tempered toward its mean: the
        temperature narrows every component, not the mixture's choice among them (at 0 each code
        is a component's mean)."""
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        centre = self.means[component]  # (n, D)

        def draw() -> Tensor:
            noise = torch.randn(n, self.dim, 1, generator=generator, dtype=torch.float64)
            return centre + (self._scale[component] @ noise).squeeze(-1)

        return tempered(centre, draw, temperature).float()
