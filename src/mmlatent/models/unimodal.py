"""One-modality autoencoders: AE, VAE and beta-VAE, one code path under three names.

- ``vae``: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
  https://arxiv.org/abs/1312.6114
- ``beta-vae``: the same objective with beta = 4 on the KL (Higgins et al., "beta-VAE: Learning
  Basic Visual Concepts with a Constrained Variational Framework", ICLR 2017).
  https://openreview.net/forum?id=Sy2fzU9gl
- ``ae``: no latent loss; the decoder reads the posterior mean, a deterministic code (Hinton &
  Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks", Science 2006).

The objective is -log p(x | z) + beta * latent loss. Any of them takes any latent loss: with
``latent_loss="mmd"`` it is a Wasserstein autoencoder (WAE-MMD, Tolstikhin et al., ICLR 2018), with
``"adversarial"`` an adversarial autoencoder (AAE, Makhzani et al., ICLR workshop 2016).

The model keeps the one modality named by ``modality`` and is handed the data set's multimodal
batches: other modalities are ignored, and rows that lack its modality leave the batch (the loss
is the mean over the rows that have it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from mmlatent.latent import Gaussian
from mmlatent.models.base import Capabilities, LossOutput, choose_modality
from mmlatent.models.latent_model import LatentModel, LatentModelConfig, require
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec


@dataclass(kw_only=True)
class UnimodalConfig(LatentModelConfig):
    modality: str | None = None
    """The one modality modelled; ``None`` only when the data set has exactly one."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.modality is None or (isinstance(self.modality, str) and bool(self.modality)),
            "modality",
            "must be a modality name or None",
            self.modality,
        )


@dataclass(kw_only=True)
class AEConfig(UnimodalConfig):
    latent_loss: str = "none"  # a plain autoencoder: decode posterior means, no pull to the prior


@dataclass(kw_only=True)
class VAEConfig(UnimodalConfig):
    pass


@dataclass(kw_only=True)
class BetaVAEConfig(UnimodalConfig):
    beta: float = 4.0  # the beta Higgins et al. 2017 use on their 2D shapes (dSprites)


class UnimodalModel(LatentModel):
    """Encoder q(z | x) and decoder p(x | z) of one modality; see the module doc."""

    config_class: ClassVar[type[UnimodalConfig]] = UnimodalConfig

    def __init__(
        self, specs: dict[str, ModalitySpec], config: UnimodalConfig | None = None
    ) -> None:
        super().__init__(specs, config if config is not None else self.config_class())

    def select_specs(
        self, specs: dict[str, ModalitySpec], config: LatentModelConfig
    ) -> dict[str, ModalitySpec]:
        """Only the modality named by ``config.modality``."""
        name = choose_modality(specs, getattr(config, "modality", None))
        return {name: specs[name]}

    @property
    def modality(self) -> str:
        return self.modalities[0]

    def rows_with_any(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """(B, 1) bool: which rows hold any modality of the (multimodal) batch."""
        self.check_batch(data, mask)
        return torch.stack([mask[m].to(torch.bool) for m in data]).any(0).unsqueeze(-1)

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """q(z | x) of the model's modality, which every row needs; other modalities are ignored."""
        self.require_some_present(self.rows_with_any(data, mask))
        own_data, own_mask = self.own(data, mask)
        m = self.modality
        if m not in own_data:
            raise ValueError(f"data lacks {m!r}, the modality this model encodes")
        absent = int((~own_mask[m].to(torch.bool)).sum())
        if absent:
            raise ValueError(
                f"{absent} rows lack {m!r}, the modality this model encodes; encode only rows "
                "that have it"
            )
        return Gaussian(*self.encoders[m](own_data[m]))

    def posterior_for_generation(self, given: dict[str, Tensor]) -> Gaussian:
        """``given`` must hold only this model's modality (no silent ignoring when generating)."""
        mask = {m: torch.ones(len(x), dtype=torch.bool, device=x.device) for m, x in given.items()}
        self.present(given, mask)  # an unknown modality is an error naming this model's one
        return self.encode(given, mask)

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """-log p(x | z) + beta * latent loss, averaged over the rows that have the modality.

        With the ``kl`` loss and beta 1 this is the negative ELBO. If no row has the modality
        the loss is a zero that still reaches every parameter (so DDP sees them all used).
        """
        self.require_some_present(self.rows_with_any(data, mask))
        m = self.modality
        own_data, own_mask = self.own(data, mask)
        if m not in own_data or not own_mask[m].any():
            return self.empty_loss()
        x = own_data[m][own_mask[m].to(torch.bool)]  # (B', *shape): rows without x leave
        posterior = Gaussian(*self.encoders[m](x))
        z = self.latent_code(posterior)  # (B', D)
        params = self.decode(z, inputs={m: x})
        present = torch.ones(len(x), 1, dtype=torch.bool, device=x.device)  # (B', 1)
        loglik = self.log_likelihoods(params, {m: x}, present)  # (B', 1)
        critics = self.critic_penalty(params, {m: x}, present, redecode=self.redecoder(z))
        total, terms = self.objective(
            loglik, self.prior_kl(posterior), z, present, beta, critics=critics
        )
        return LossOutput(total=total, terms=terms)

    def empty_loss(self) -> LossOutput:
        """The loss of a batch in which no row has the modality: 0, with a graph to every weight."""
        total = torch.stack([p.sum() for p in self.parameters()]).sum() * 0.0
        zero = total.detach()
        terms = {f"rec_{self.modality}": zero, "kl": zero, "elbo": zero, "latent": zero}
        return LossOutput(total=total, terms=terms)


def _capabilities(family: str, paper: str) -> Capabilities:
    return Capabilities(
        family=family, fusion="none", paper=paper, multimodal=False, decoder_critics=True
    )


@register_model("ae")
class Autoencoder(UnimodalModel):
    """Autoencoder of one modality (no latent loss: deterministic codes)."""

    config_class = AEConfig
    capabilities = _capabilities(
        "autoencoder",
        "Hinton & Salakhutdinov, Reducing the Dimensionality of Data with Neural Networks, "
        "Science 2006",
    )


@register_model("vae")
class VAE(UnimodalModel):
    """Variational autoencoder of one modality."""

    config_class = VAEConfig
    capabilities = _capabilities(
        "VAE", "Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014"
    )


@register_model("beta-vae")
class BetaVAE(UnimodalModel):
    """beta-VAE of one modality (the VAE with a heavier KL, beta 4 by default)."""

    config_class = BetaVAEConfig
    capabilities = _capabilities(
        "beta-VAE",
        "Higgins et al., beta-VAE: Learning Basic Visual Concepts with a Constrained Variational "
        "Framework, ICLR 2017",
    )
