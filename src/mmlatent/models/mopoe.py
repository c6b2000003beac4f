"""MoPoE-VAE: Sutter, Daunhawer & Vogt, "Generalized Multimodal ELBO", ICLR 2021.
https://openreview.net/forum?id=5Y21V0RDBV

The joint posterior is a uniform mixture over subsets of the modalities of each subset's product
of experts. One draw from the mixture reconstructs every present modality; the KL term is the
mean of the components' KLs to N(0, I) (an upper bound on the mixture's KL, Lemma 2, and what the
authors' code minimises). With ``subsets="full"`` or ``"singletons"`` the same objective becomes
the PoE (MVAE-like) and MoE (MMVAE-like) special cases; the thin variants at the bottom name them.
Missing modalities: each sample mixes only the subsets it has in full (``latent.fusion``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from mmlatent.latent import (
    SUBSET_MODES,
    Gaussian,
    enumerate_subsets,
    mixture_of_subsets,
    product_of_experts,
    subset_matrix,
)
from mmlatent.models.base import GenerativeModel, LossOutput, generation_source
from mmlatent.nn import (
    build_decoder,
    build_encoder,
    event_size,
    is_unit_interval,
    log_likelihood,
    to_data,
)
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec

RESCALE_MODES: tuple[str, ...] = ("dims", "none")


def _require(ok: bool, field: str, why: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{field} {why}, got {value!r}")


@dataclass(kw_only=True)
class MoPoEConfig:
    latent_dim: int = 32
    """Size of the shared latent space."""
    hidden_dim: int = 128
    """Width of every encoder and decoder (conv channels scale with it)."""
    beta: float = 1.0
    """Weight of the KL term (beta-VAE, Higgins et al. 2017); the trainer may ramp it up."""
    subsets: str = "all"
    """Mixture components: ``all`` non-empty subsets (MoPoE), the ``full`` set only (PoE), or
    ``singletons`` (MoE)."""
    rescale: str = "dims"
    """Likelihood weight per modality: ``dims`` gives modality m the weight max_k n_k / n_m (n:
    values per sample), as the MoPoE code does, so a 12-token caption counts as much as a
    784-pixel image; ``none`` weights every modality 1 (the plain ELBO)."""
    obs_scale: float = 0.75
    """Fixed std (gaussian) or scale (laplace) of real-valued likelihoods; 0.75 is MMVAE's Laplace
    scale (Shi et al. 2019)."""

    def __post_init__(self) -> None:
        _require(self.latent_dim >= 1, "latent_dim", "must be >= 1", self.latent_dim)
        _require(self.hidden_dim >= 1, "hidden_dim", "must be >= 1", self.hidden_dim)
        _require(self.beta >= 0, "beta", "must be >= 0", self.beta)
        _require(
            self.subsets in SUBSET_MODES, "subsets", f"must be one of {SUBSET_MODES}", self.subsets
        )
        _require(
            self.rescale in RESCALE_MODES,
            "rescale",
            f"must be one of {RESCALE_MODES}",
            self.rescale,
        )
        _require(self.obs_scale > 0, "obs_scale", "must be > 0", self.obs_scale)


def likelihood_weights(specs: Sequence[ModalitySpec], rescale: str) -> list[float]:
    """One weight per modality for the reconstruction terms (see ``MoPoEConfig.rescale``)."""
    if rescale == "none":
        return [1.0] * len(specs)
    sizes = [event_size(s) for s in specs]
    return [max(sizes) / n for n in sizes]


def _fill_absent(x: Tensor, present: Tensor) -> Tensor:
    """Zeros where a sample is absent, so no NaN or out-of-range id placeholder reaches a network."""
    keep = present.view(-1, *([1] * (x.dim() - 1)))  # (B, 1, ...)
    return torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))


@register_model("mopoe")
class MoPoE(GenerativeModel):
    """Mixture-of-products-of-experts VAE (the generalized multimodal ELBO)."""

    config_class = MoPoEConfig
    registry_name = "mopoe"
    subsets: Tensor  # (S, M) bool buffer: which modalities each mixture component multiplies
    rec_weights: Tensor  # (M,) buffer: reconstruction weight per modality

    def __init__(self, specs: dict[str, ModalitySpec], config: MoPoEConfig | None = None) -> None:
        super().__init__(specs, config if config is not None else self.config_class())
        cfg = self.config
        self.encoders = nn.ModuleDict(
            {m: build_encoder(s, cfg.latent_dim, cfg.hidden_dim) for m, s in self.specs.items()}
        )
        self.decoders = nn.ModuleDict(
            {m: build_decoder(s, cfg.latent_dim, cfg.hidden_dim) for m, s in self.specs.items()}
        )
        subsets = subset_matrix(enumerate_subsets(self.modalities, cfg.subsets), self.modalities)
        weights = torch.tensor(likelihood_weights(list(self.specs.values()), cfg.rescale))
        self.register_buffer("subsets", subsets, persistent=False)  # (S, M) bool
        self.register_buffer("rec_weights", weights, persistent=False)  # (M,)

    # -- inputs ---------------------------------------------------------------------------------

    def _present(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """(B, M) bool; a modality missing from ``data`` is absent for every sample."""
        unknown = sorted(set(data) - set(self.specs))
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r}; this model has {self.modalities}")
        if not data:
            raise ValueError("data must hold at least one modality")
        missing = [m for m in data if m not in mask]
        if missing:
            raise ValueError(f"mask lacks modality {missing[0]!r}")
        first = next(iter(data.values()))
        wrong = [m for m in data if len(data[m]) != len(first) or mask[m].shape != (len(first),)]
        if wrong:
            raise ValueError(
                f"modality {wrong[0]!r}: data and mask must share the batch size {len(first)}"
            )
        columns = [
            mask[m].to(torch.bool)
            if m in data
            else torch.zeros(len(first), dtype=torch.bool, device=first.device)
            for m in self.modalities
        ]
        return torch.stack(columns, dim=1)  # (B, M)

    def _experts(self, data: dict[str, Tensor], present: Tensor) -> tuple[Tensor, Tensor]:
        """Every modality's posterior parameters, (B, M, D) each; zeros where not in ``data``."""
        encoded = {
            m: self.encoders[m](_fill_absent(data[m], present[:, i]))
            for i, m in enumerate(self.modalities)
            if m in data
        }
        zeros = torch.zeros_like(next(iter(encoded.values()))[0])  # (B, D)
        means = [encoded[m][0] if m in encoded else zeros for m in self.modalities]
        logvars = [encoded[m][1] if m in encoded else zeros for m in self.modalities]
        return torch.stack(means, dim=1), torch.stack(logvars, dim=1)  # (B, M, D)

    def _targets(self, targets: Sequence[str] | None) -> list[str]:
        targets = list(self.modalities if targets is None else targets)
        unknown = [t for t in targets if t not in self.specs]
        if unknown:
            raise ValueError(f"unknown target {unknown[0]!r}; this model has {self.modalities}")
        return targets

    # -- the API --------------------------------------------------------------------------------

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """PoE of every present modality (and the prior): the joint posterior for embeddings."""
        present = self._present(data, mask)
        if not present.any(-1).all():
            raise ValueError("every sample needs at least one present modality")
        mean, logvar = self._experts(data, present)
        return product_of_experts(mean, logvar, present)

    def decode(
        self,
        z: Tensor,
        targets: Sequence[str] | None = None,
        *,
        inputs: dict[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Likelihood parameters per target; ``inputs`` teacher-force autoregressive decoders."""
        out = {}
        for m in self._targets(targets):
            decoder = self.decoders[m]
            if getattr(decoder, "autoregressive", False) and inputs is not None and m in inputs:
                out[m] = decoder(z, inputs[m])
            else:
                out[m] = decoder(z)
        return out

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """Negative MoPoE ELBO: -sum_m w_m log p(x_m | z) + beta * mean-subset KL, z ~ mixture.

        ``terms``: ``rec_<m>`` (NLL of m averaged over the samples that have it, 0 if none do),
        ``kl`` (the mean-subset KL) and ``elbo`` (unweighted, beta 1: the bound itself).
        """
        beta = self.config.beta if beta is None else beta
        present = self._present(data, mask)
        mixture = mixture_of_subsets(*self._experts(data, present), present, self.subsets)
        observed = {
            m: _fill_absent(x, present[:, self.modalities.index(m)]) for m, x in data.items()
        }
        params = self.decode(mixture.rsample(), list(observed), inputs=observed)
        loglik = self._log_likelihoods(params, data, present)  # (B, M), 0 where absent
        kl = mixture.kl_standard_normal()  # (B,)
        total = (beta * kl - (loglik * self.rec_weights).sum(-1)).mean()
        counts = present.sum(0).clamp_min(1)  # (M,)
        terms = {f"rec_{m}": -loglik[:, i].sum() / counts[i] for i, m in enumerate(self.modalities)}
        terms["kl"] = kl.mean()
        terms["elbo"] = (loglik.sum(-1) - kl).mean()
        return LossOutput(total=total, terms=terms)

    def _log_likelihoods(
        self, params: dict[str, Tensor], data: dict[str, Tensor], present: Tensor
    ) -> Tensor:
        """log p(x_m | z) per sample and modality (B, M); exactly 0 where x_m is absent."""
        lls = {}
        for i, m in enumerate(self.modalities):
            if m in params:
                target = _fill_absent(data[m], present[:, i])
                ll = log_likelihood(
                    self.specs[m].likelihood, params[m], target, scale=self.config.obs_scale
                )
                lls[m] = torch.where(present[:, i], ll, 0.0)  # (B,)
        zeros = torch.zeros_like(next(iter(lls.values())))
        return torch.stack([lls.get(m, zeros) for m in self.modalities], dim=1)  # (B, M)

    @torch.no_grad()
    def generate(
        self,
        n: int | None = None,
        *,
        given: dict[str, Tensor] | None = None,
        targets: Sequence[str] | None = None,
        latent: Tensor | None = None,
        sample_latent: bool = True,
    ) -> dict[str, Tensor]:
        generation_source(n, given, latent)  # exactly one source, valid
        targets = self._targets(targets)
        if latent is not None:
            z = self._check_latent(latent)
        elif given is not None:
            mask = {
                m: torch.ones(len(x), dtype=torch.bool, device=x.device) for m, x in given.items()
            }
            posterior = self.encode(given, mask)
            z = posterior.rsample() if sample_latent else posterior.mean
        else:
            shape = (cast(int, n), self.config.latent_dim)
            draw = torch.randn if sample_latent else torch.zeros  # the prior's draw or its mean
            z = draw(shape, device=self.device)
        params = self.decode(z, targets)
        return {
            m: to_data(
                self.specs[m].likelihood, params[m], unit_interval=is_unit_interval(self.specs[m])
            )
            for m in targets
        }

    def _check_latent(self, latent: Tensor) -> Tensor:
        if latent.shape[-1] != self.config.latent_dim:
            raise ValueError(
                f"latent must be (N, {self.config.latent_dim}), got {tuple(latent.shape)}"
            )
        return latent


# -- named special cases: the same class and objective, other default subsets ------------------


@dataclass(kw_only=True)
class PoEConfig(MoPoEConfig):
    subsets: str = "full"
    """Only the full set of present modalities: one product of experts."""


@register_model("mvae")
class PoEVAE(MoPoE):
    """The PoE special case of the generalized ELBO (Sutter et al. 2021, Sec. 3): an MVAE
    (Wu & Goodman 2018) trained on the joint ELBO only, without MVAE's extra sub-sampled
    unimodal ELBO terms; samples with missing modalities use the PoE of what they have."""

    config_class = PoEConfig
    registry_name = "mvae"


@dataclass(kw_only=True)
class MoEConfig(MoPoEConfig):
    subsets: str = "singletons"
    """Only single modalities: a mixture of unimodal experts."""


@register_model("mmvae-moe")
class MoEVAE(MoPoE):
    """The MoE special case of the generalized ELBO (Sutter et al. 2021, Sec. 3): MMVAE's
    mixture of unimodal experts (Shi et al. 2019), trained with one mixture draw and the
    mean-of-KLs bound, not MMVAE's stratified IWAE/DReG estimator."""

    config_class = MoEConfig
    registry_name = "mmvae-moe"
