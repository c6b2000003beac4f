"""MoPoE-VAE: Sutter, Daunhawer & Vogt, "Generalized Multimodal ELBO", ICLR 2021.
https://openreview.net/forum?id=5Y21V0RDBV

The joint posterior is a uniform mixture over subsets of the modalities of each subset's product
of experts. One draw from the mixture reconstructs every present modality; the KL term is the
mean of the components' KLs to the prior (an upper bound on the mixture's KL, Lemma 2, and what the
authors' code minimises). Missing modalities: each sample mixes only the subsets it has in full
(``latent.fusion``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from mmlatent.latent import (
    SUBSET_MODES,
    Gaussian,
    enumerate_subsets,
    mixture_of_subsets,
    product_of_experts,
    subset_matrix,
)
from mmlatent.models.base import Capabilities, LossOutput
from mmlatent.models.latent_model import LatentModel, LatentModelConfig, require
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec


@dataclass(kw_only=True)
class MoPoEConfig(LatentModelConfig):
    subsets: str = "all"
    """Mixture components: ``all`` non-empty subsets (MoPoE), the ``full`` set only (a PoE), or
    ``singletons`` (a MoE), for ablations of the fusion alone."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.subsets in SUBSET_MODES, "subsets", f"must be one of {SUBSET_MODES}", self.subsets
        )


@register_model("mopoe")
class MoPoE(LatentModel):
    """Mixture-of-products-of-experts VAE (the generalized multimodal ELBO)."""

    config_class = MoPoEConfig
    capabilities = Capabilities(
        family="multimodal VAE",
        fusion="mixture of products of experts",
        paper="Sutter, Daunhawer & Vogt, Generalized Multimodal ELBO, ICLR 2021",
        decoder_critics=True,
    )
    subsets: Tensor  # (S, M) bool buffer: which modalities each mixture component multiplies

    def __init__(self, specs: dict[str, ModalitySpec], config: MoPoEConfig | None = None) -> None:
        super().__init__(specs, config if config is not None else MoPoEConfig())
        subsets = enumerate_subsets(self.modalities, self.config.subsets)
        self.register_buffer(
            "subsets", subset_matrix(subsets, self.modalities), persistent=False
        )  # (S, M) bool

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """PoE of every present modality (and the prior): the joint posterior for embeddings."""
        present = self.present(data, mask)
        self.require_some_present(present)
        mean, logvar = self.experts(data, present)
        return product_of_experts(mean, logvar, present)

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """Negative MoPoE ELBO: -sum_m w_m log p(x_m | z) + beta * mean-subset KL, z ~ mixture.

        With another latent loss the KL is replaced by that loss on the mixture's draws.
        """
        present = self.present(data, mask)
        mixture = mixture_of_subsets(*self.experts(data, present), present, self.subsets)
        component = mixture.component(mixture.sample_component())
        z = self.latent_code(component)  # (B, D)
        observed = self.observed(data, present)
        params = self.decode(z, list(observed), inputs=observed)
        loglik = self.log_likelihoods(params, data, present)  # (B, M), 0 where absent
        total, terms = self.objective(
            loglik,
            mixture.mean_component_kl(self.prior_kl),
            z,
            present,
            beta,
            critics=self.critic_penalty(params, data, present, redecode=self.redecoder(z)),
        )
        return LossOutput(total=total, terms=terms)
