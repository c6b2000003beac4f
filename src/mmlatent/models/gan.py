"""Generative adversarial networks: ``gan`` makes one image-like modality from noise; ``cgan``
makes it from another modality, through that modality's own encoder body.

- ``gan``: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, with the DCGAN
  networks of Radford et al., ICLR 2016 (:mod:`mmlatent.nn.gan`).
  https://arxiv.org/abs/1406.2661
- ``cgan``: the generator is given the condition as well as the noise (Mirza & Osindero,
  "Conditional Generative Adversarial Nets", 2014), through conditional BatchNorm fed by the
  discriminator's condition embedding; the discriminator is a projection
  discriminator (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018), so text
  tokens, frozen MiniLM sentence features or a log-mel all condition the same way.
  https://arxiv.org/abs/1802.05637

The objective (``non-saturating``, ``hinge`` or ``wgan-gp``) is a config field; its formulas live
in :mod:`mmlatent.nn.adversarial`. A model computes each player's loss on a batch; the adversarial
training system (``mmlatent.training.systems.adversarial``) owns the optimisers, the number of
discriminator steps per generator step and the moving average of the generator's weights, which
is what ``generate`` samples from. Rows that lack a modality the loss needs leave the batch.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from mmlatent.models.base import (
    Capabilities,
    GenerativeModel,
    LossOutput,
    choose_modality,
    generation_source,
)
from mmlatent.models.latent_model import require
from mmlatent.nn.adversarial import (
    ADVERSARIAL_LOSSES,
    adversarial_loss,
    gradient_penalty,
    ramped_decay,
    update_average,
)
from mmlatent.nn.build import build_body
from mmlatent.nn.diff_augment import diff_augment
from mmlatent.nn.gan import ConvGenerator, Discriminator, require_grid
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec


@dataclass(kw_only=True)
class GANConfig:
    latent_dim: int = 64
    """Size of the generator's noise z (the codes ``generate(latent=...)`` takes)."""
    hidden_dim: int = 128
    """Width of both networks (conv channels scale with it, as in the VAEs' networks)."""
    loss: str = "hinge"
    """The game: ``hinge`` (SNGAN's), ``non-saturating`` (the original GAN's, trainable form)
    or ``wgan-gp`` (``mmlatent.nn.adversarial``)."""
    gradient_penalty_weight: float = 10.0
    """Weight of the gradient penalty, for losses that declare one (WGAN-GP's paper uses 10)."""
    spectral_norm: bool = True
    """Spectral norm on every discriminator layer (Miyato et al., ICLR 2018). With hinge it is
    SNGAN's recipe; on digits it kept every class in the samples where the non-saturating loss
    without it dropped two (judged label entropy 0.97 against 0.92 after 9 epochs)."""
    minibatch_std: bool = False
    """The discriminator also reads the spread of its batch's features (ProGAN's minibatch
    standard deviation), against mode dropping."""
    augment: bool = False
    """Random translation and cutout of every sample the discriminator trains on, real and
    generated alike (DiffAugment, Zhao et al., NeurIPS 2020): against a discriminator that
    memorises a small training set (:mod:`mmlatent.nn.diff_augment`). Off by default: on
    digits this small spectrally normalised discriminator underfits rather than memorises,
    and augmenting weakened it further (60 epochs, seed 0: judge FID 195 against 127)."""
    modality: str | None = None
    """The modality generated; ``None`` only when the data set has exactly one."""

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "latent_dim", "must be >= 1", self.latent_dim)
        require(self.hidden_dim >= 1, "hidden_dim", "must be >= 1", self.hidden_dim)
        require(
            self.loss in ADVERSARIAL_LOSSES,
            "loss",
            f"must be one of {tuple(ADVERSARIAL_LOSSES)}",
            self.loss,
        )
        require(
            self.gradient_penalty_weight >= 0,
            "gradient_penalty_weight",
            "must be >= 0",
            self.gradient_penalty_weight,
        )


@dataclass(kw_only=True)
class ConditionalGANConfig(GANConfig):
    modality: str | None = "image"
    condition: str = "text"
    """The modality the generator is given: text tokens, sentence features, a log-mel, ..."""
    matching_aware: bool = True
    """Real samples paired with another row's condition count as fakes for the discriminator
    (Reed et al., "Generative Adversarial Text to Image Synthesis", ICML 2016): it must then
    judge whether a sample fits its condition, not only whether it looks real."""
    shared_condition_encoder: bool = True
    """The generator reads the condition through the discriminator's projection embedding psi
    (its output, without gradient), instead of through a body of its own. The matching-aware
    discriminator trains psi to tell captions apart from the first epochs; a generator body is
    trained only by the generator's weaker conditional gradient (text->image coherence on
    digits after 30 epochs, seed 0: 0.70 with its own body, 0.92 reading psi)."""


class Generator(nn.Module):
    """(noise (B, D) [, condition]) -> (B, C, H, W) logits. A condition passes through its
    modality's feature body and a layer norm, then sets the gains and biases of every
    BatchNorm of the generator (conditional BatchNorm, as in Miyato & Koyama's projection cGAN).

    Concatenating the condition's features to the noise instead collapsed the generator on
    digits: one image for every caption and every noise within 3 epochs, whatever the loss or
    the discriminator; the noise alone feeds the first layer here, as in the unconditional GAN.
    """

    def __init__(
        self,
        spec: ModalitySpec,
        config: GANConfig,
        condition: ModalitySpec | None,
        *,
        reads_features: bool = False,
    ) -> None:
        super().__init__()
        hidden = config.hidden_dim
        self.condition: nn.Module | None = None
        if condition is not None:  # with reads_features, the condition comes as (B, hidden)
            body = nn.Identity() if reads_features else build_body(condition, hidden)
            self.condition = nn.Sequential(body, nn.LayerNorm(hidden))
        condition_dim = 0 if condition is None else hidden
        self.net = ConvGenerator(spec.shape, config.latent_dim, hidden, condition_dim)

    def forward(self, z: Tensor, condition: Tensor | None = None) -> Tensor:
        if self.condition is None:
            return self.net(z)
        assert condition is not None
        return self.net(z, self.condition(condition))  # (B, C, H, W)


class AdversarialModel(GenerativeModel):
    """What ``gan`` and ``cgan`` share: the two players, their losses, the averaged generator.

    ``generator`` and ``discriminator`` are the two optimisers' parameter sets;
    ``generator_average`` (not trained by any optimiser) is what ``generate`` samples from.
    """

    config_class: ClassVar[type[GANConfig]] = GANConfig
    ema_updates: Tensor  # () long buffer: moving-average updates so far

    def __init__(self, specs: dict[str, ModalitySpec], config: GANConfig | None = None) -> None:
        config = config if config is not None else self.config_class()
        target = choose_modality(specs, config.modality)
        condition = self.condition_name(specs, config, target)
        kept = {m: specs[m] for m in (condition, target) if m is not None}
        super().__init__(kept, config)
        self.target = target
        self.condition = condition
        condition_spec = None if condition is None else specs[condition]
        spec = require_grid(specs[target])
        self.objective = adversarial_loss(config.loss)
        self.shares_encoder = self.shares_condition_encoder(config)
        self.generator = Generator(spec, config, condition_spec, reads_features=self.shares_encoder)
        self.discriminator = Discriminator(
            spec,
            config.hidden_dim,
            condition=condition_spec,
            spectral_norm=config.spectral_norm,
            minibatch_std=config.minibatch_std,
        )
        self.generator_average = copy.deepcopy(self.generator).requires_grad_(False)
        self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    def condition_name(
        self, specs: dict[str, ModalitySpec], config: GANConfig, target: str
    ) -> str | None:
        """The conditioning modality (none for an unconditional GAN)."""
        return None

    def shares_condition_encoder(self, config: GANConfig) -> bool:
        """Whether the generator reads the condition through the discriminator's psi (never
        without a condition; see ``ConditionalGAN``)."""
        return False

    # -- the two players' losses ------------------------------------------------------------------

    def training_rows(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """(B,) bool: rows that hold every modality this model reads."""
        if any(m not in data for m in self.modalities):
            some = next(iter(mask.values()))
            return torch.zeros(len(some), dtype=torch.bool, device=some.device)
        return torch.stack([mask[m].to(torch.bool) for m in self.modalities]).all(0)

    def real_rows(
        self, data: dict[str, Tensor], mask: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor | None] | None:
        """(real samples (B', C, H, W), their conditions) of the rows that hold every modality
        this model reads; None when no row does."""
        rows = self.training_rows(data, mask)
        if not rows.any():
            return None
        condition = None if self.condition is None else data[self.condition][rows]
        return data[self.target][rows], condition

    def mismatched(self, condition: Tensor | None) -> Tensor | None:
        """Conditions that do not belong to their rows, for a matching-aware discriminator
        (none here: see ``ConditionalGAN``)."""
        return None

    def discriminator_loss(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> LossOutput:
        """The discriminator's loss on the real rows and as many fresh fakes (from the trained
        generator, not its average), plus the gradient penalty where the objective has one.
        Real rows under mismatched conditions, where the model has them, join the fakes."""
        batch = self.real_rows(data, mask)
        if batch is None:
            return self.empty_loss("d")
        real, condition = batch
        with torch.no_grad():
            fake = self.sample(self.generator, len(real), condition)
        real_logits = self.critic(real, condition)  # (B',)
        fake_logits = self.critic(fake, condition)
        terms = {"d_real": real_logits.mean().detach(), "d_fake": fake_logits.mean().detach()}
        wrong = self.mismatched(condition)
        if wrong is not None:  # half of the "fake" term: Reed et al.'s (fake + mismatch) / 2
            mismatched = self.critic(real, wrong)
            fake_logits = torch.cat([fake_logits, mismatched])
            terms["d_mismatched"] = mismatched.mean().detach()
        total = self.objective.discriminator(real_logits, fake_logits)
        if self.objective.gradient_penalty:
            penalty = gradient_penalty(lambda x: self.critic(x, condition), real, fake)
            total = total + self.config.gradient_penalty_weight * penalty
            terms["gradient_penalty"] = penalty.detach()
        terms["d_loss"] = total.detach()
        return LossOutput(total=total, terms=terms)

    def generator_loss(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> LossOutput:
        """The generator's loss on fresh fakes, one per row the discriminator trained on."""
        batch = self.real_rows(data, mask)
        if batch is None:
            return self.empty_loss("g")
        real, condition = batch
        fake = self.sample(self.generator, len(real), condition)
        total = self.objective.generator(self.critic(fake, condition))
        return LossOutput(total=total, terms={"g_loss": total.detach()})

    def critic(self, x: Tensor, condition: Tensor | None) -> Tensor:
        """(B,) discriminator logits in training: on augmented samples with ``augment``."""
        return self.discriminator(diff_augment(x) if self.config.augment else x, condition)

    @torch.no_grad()
    def discriminator_scores(
        self, data: dict[str, Tensor], mask: dict[str, Tensor]
    ) -> dict[str, Tensor]:
        """Mean discriminator logits on the real rows and as many fakes, without any update.
        On held-out rows this shows a discriminator that memorises its training set: its real
        score there falls below the training one (Karras et al., "Training Generative
        Adversarial Networks with Limited Data", NeurIPS 2020)."""
        batch = self.real_rows(data, mask)
        if batch is None:
            return {}
        real, condition = batch
        fake = self.sample(self.generator, len(real), condition)
        return {
            "d_real": self.discriminator(real, condition).mean(),
            "d_fake": self.discriminator(fake, condition).mean(),
        }

    def empty_loss(self, player: str) -> LossOutput:
        """A batch with no usable row: 0, with a graph to every weight (DDP sees them all used)."""
        total = torch.stack([p.sum() for p in self.parameters() if p.requires_grad]).sum() * 0.0
        return LossOutput(total=total, terms={f"{player}_loss": total.detach()})

    @torch.no_grad()
    def update_average(self, decay: float) -> None:
        """One step of the generator's moving average, its decay ramped up (``ramped_decay``)."""
        k = int(self.ema_updates)
        update_average(self.generator_average, self.generator, ramped_decay(decay, k))
        self.ema_updates += 1

    # -- generation ---------------------------------------------------------------------------------

    def sample(
        self, generator: nn.Module, n: int, condition: Tensor | None, *, temperature: float = 1.0
    ) -> Tensor:
        """``n`` samples in data space ([0, 1]) from ``generator``: noise scaled by
        ``temperature`` (zeros at 0)."""
        z = self.prior_draw(n, temperature)
        return self.decode_noise(generator, z, condition)

    def decode_noise(self, generator: nn.Module, z: Tensor, condition: Tensor | None) -> Tensor:
        """(B, C, H, W) samples in [0, 1] from noise ``z`` (and a raw condition)."""
        return torch.sigmoid(generator(z, self.generator_condition(condition)))

    def generator_condition(self, condition: Tensor | None) -> Tensor | None:
        """What the generator reads of a condition: the condition itself, or with
        ``shared_condition_encoder`` the discriminator's psi direction, without gradient."""
        if condition is None or not self.shares_encoder:
            return condition
        assert self.discriminator.condition is not None
        with torch.no_grad():
            return self.discriminator.condition.direction(condition)  # (B, hidden)

    def check_targets(self, targets: Sequence[str] | None) -> list[str]:
        """Only the generated modality can be a target (default: it)."""
        targets = [self.target] if targets is None else list(targets)
        wrong = [t for t in targets if t != self.target]
        if wrong:
            known = "unknown target" if wrong[0] not in self.specs else "cannot generate"
            raise ValueError(f"{known} {wrong[0]!r}; this model generates {self.target!r} only")
        return targets

    def check_given(self, given: dict[str, Tensor]) -> None:
        unknown = sorted(set(given) - set(self.specs))
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r}; this model has {self.modalities}")

    @torch.no_grad()
    def generate(
        self,
        n: int | None = None,
        *,
        given: dict[str, Tensor] | None = None,
        targets: Sequence[str] | None = None,
        latent: Tensor | None = None,
        temperature: float = 1.0,
    ) -> dict[str, Tensor]:
        """Samples of the generated modality from the averaged generator; ``temperature`` scales
        the noise (0 decodes its mean, zeros). A ``gan`` takes ``n`` or ``latent``, a ``cgan``
        ``given={condition: ...}``."""
        source = generation_source(n, given, latent)
        targets = self.check_targets(targets)
        if given is not None:
            self.check_given(given)
        condition, size = self.generation_input(source, n, given, latent)
        if latent is not None:
            if latent.shape[-1] != self.latent_dim:
                raise ValueError(
                    f"latent must be (N, {self.latent_dim}), got {tuple(latent.shape)}"
                )
            out = self.decode_noise(self.generator_average, latent, condition)
        else:
            out = self.sample(self.generator_average, size, condition, temperature=temperature)
        return {t: out for t in targets}

    def generation_input(
        self, source: str, n: int | None, given: dict[str, Tensor] | None, latent: Tensor | None
    ) -> tuple[Tensor | None, int]:
        """(condition, number of samples) for ``generate``'s source."""
        if source == "given":
            raise ValueError(
                f"model {self.registry_name!r} generates from noise (n= or latent=), not from "
                "given modalities; a conditional GAN (cgan) takes a condition"
            )
        return None, int(n) if n is not None else len(latent)  # type: ignore[arg-type]


@register_model("gan")
class GAN(AdversarialModel):
    """One image-like modality (image, log-mel) from noise."""

    config_class = GANConfig
    capabilities = Capabilities(
        family="GAN",
        fusion="none",
        paper="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014 (DCGAN networks: "
        "Radford et al., ICLR 2016)",
        training="adversarial",
        encodes=False,
        multimodal=False,
        conditions_on_any_subset=False,
        latent_losses=(),
    )

    def directions(self) -> list[tuple[tuple[str, ...], str]]:
        return []


@register_model("cgan")
class ConditionalGAN(AdversarialModel):
    """One image-like modality from another modality: text -> image, audio -> image,
    text -> audio, ..."""

    config_class = ConditionalGANConfig
    capabilities = Capabilities(
        family="conditional GAN",
        fusion="conditional BatchNorm from the discriminator's condition embedding; "
        "projection discriminator",
        paper="Mirza & Osindero, Conditional GANs, 2014; Miyato & Koyama, cGANs with Projection "
        "Discriminator, ICLR 2018",
        training="adversarial",
        encodes=False,
        conditions_on_any_subset=False,
        latent_losses=(),
        unconditional=False,
    )

    def condition_name(
        self, specs: dict[str, ModalitySpec], config: GANConfig, target: str
    ) -> str | None:
        name = getattr(config, "condition", None)
        if name not in specs:
            raise ValueError(
                f"condition {name!r} is not in the data; choose one of {sorted(specs)}"
            )
        if name == target:
            raise ValueError(f"condition and generated modality must differ, both are {name!r}")
        return name

    def directions(self) -> list[tuple[tuple[str, ...], str]]:
        assert self.condition is not None
        return [((self.condition,), self.target)]

    def shares_condition_encoder(self, config: GANConfig) -> bool:
        assert isinstance(config, ConditionalGANConfig)
        return config.shared_condition_encoder

    def mismatched(self, condition: Tensor | None) -> Tensor | None:
        """Each row's neighbour's condition (rolled by one), with ``matching_aware``."""
        if condition is None or not self.config.matching_aware or len(condition) < 2:
            return None
        return condition.roll(1, dims=0)

    def generation_input(
        self, source: str, n: int | None, given: dict[str, Tensor] | None, latent: Tensor | None
    ) -> tuple[Tensor | None, int]:
        assert self.condition is not None
        if given is None or set(given) != {self.condition}:
            have = "nothing" if given is None else sorted(given)
            raise ValueError(
                f"model {self.registry_name!r} generates {self.target!r} from "
                f"given={{{self.condition!r}: ...}} only, got {have}"
            )
        return given[self.condition], len(given[self.condition])
