"""A Gaussian mixture fitted to the training codes (scikit-learn's EM).

The aggregate posterior of a VAE rarely fills the prior; sampling where the codes actually lie
gives more coherent unconditional samples (Ghosh et al., ICLR 2020, section 4).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import Tensor

from mmlatent.registry import register_sampler
from mmlatent.samplers.base import LatentSampler

log = logging.getLogger(__name__)


@register_sampler("gmm")
class GaussianMixtureSampler(LatentSampler):
    def __init__(
        self, *, n_components: int = 10, covariance_type: str = "full", seed: int = 0
    ) -> None:
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        if covariance_type not in ("full", "diag"):
            raise ValueError(f"covariance_type must be 'full' or 'diag', got {covariance_type!r}")
        self.mixture = GaussianMixture(
            n_components=n_components,
            covariance_type=covariance_type,
            random_state=seed,
            reg_covar=1e-5,
        )

    def _fit(self, codes: Tensor) -> None:
        if len(codes) < self.mixture.n_components:
            # A small data set (a user's manifest) still gets a sampler, with fewer components.
            log.warning(
                "only %d codes: fitting %d mixture components instead of %d",
                len(codes), len(codes), self.mixture.n_components,
            )  # fmt: skip
            self.mixture.set_params(n_components=len(codes))
        self.mixture.fit(codes.numpy())

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        m = self.mixture
        counts = rng.multinomial(n, m.weights_)
        covariances = (
            m.covariances_ if m.covariance_type == "full" else [np.diag(c) for c in m.covariances_]
        )
        draws = [
            rng.multivariate_normal(m.means_[k], covariances[k], size=c)
            for k, c in enumerate(counts)
            if c
        ]
        z = np.concatenate(draws)[rng.permutation(n)]
        return torch.from_numpy(z).float()
