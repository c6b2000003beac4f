"""The API every generative model in mmlatent shares (plain ``nn.Module``, no Lightning).

A model is built from ``specs`` (one ``ModalitySpec`` per modality) and its config dataclass:
``Model(specs, config)``. Batches follow :class:`mmlatent.types.Batch`: ``data`` and ``mask``
dicts keyed by modality name; a masked-out sample's values are never read.

Every model generates (``generate``) and says which conditional directions it serves
(``directions``); what it trains on is its training system's business: likelihood models
(``LatentModel``) have ``loss``, adversarial ones (``models.gan``) a loss per player.

Each model class declares what it can do in ``capabilities``; the CLI, training, evaluation and
the report read those and never test a model's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmlatent.latent.temperature import tempered_normal
from mmlatent.types import ModalitySpec


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a model family is and can do: read by the CLI, training, evaluation and report."""

    family: str
    """Short description of the family, e.g. ``"multimodal VAE"``."""
    fusion: str
    """How modalities meet in the latent space, e.g. ``"product of experts"`` (``"none"`` for
    one modality)."""
    paper: str
    """The paper whose objective the model trains (authors, title, venue)."""
    training: str = "elbo"
    """The training system that fits it (``mmlatent.registry.TRAINING_SYSTEMS``)."""
    encodes: bool = True
    """Maps data to codes: ``embed``, reconstruction, probes and fitted latent samplers work."""
    multimodal: bool = True
    """Models several modalities at once (False: exactly one, chosen by its config)."""
    conditions_on_any_subset: bool = True
    """``generate(given=S)`` works for every non-empty subset S of its modalities."""
    trains_on_incomplete_rows: bool = True
    """Rows with missing modalities train it (each row's missing parts contribute nothing)."""
    latent_losses: tuple[str, ...] = ("kl", "mmd", "adversarial", "none")
    """The latent losses its objective accepts (``mmlatent.latent.losses``)."""
    unconditional: bool = True
    """``generate(n)`` and ``generate(latent=...)`` make samples from nothing given (a
    conditional GAN needs its condition): joint coherence, latent samplers and free samples
    work."""

    decoder_critics: bool = False
    """Its objective feeds decoded outputs to critics (a latent model's ``decoder_critics``)."""

    def summary(self) -> str:
        """One line of the flags that hold, for tables and help text."""
        flags = {
            "encodes": self.encodes,
            "any-subset": self.multimodal and self.conditions_on_any_subset,
            "incomplete-rows": self.trains_on_incomplete_rows,
        }
        return ", ".join(name for name, on in flags.items() if on) or "-"


@dataclass
class LossOutput:
    """``total`` is what the optimiser minimises; ``terms`` are logged (detached by the caller)."""

    total: Tensor
    terms: dict[str, Tensor]


class GenerativeModel(nn.Module, ABC):
    """Uniform API: ``generate``, ``directions``; ``encode`` and ``embed`` where ``encodes``."""

    config_class: ClassVar[type]
    capabilities: ClassVar[Capabilities]
    registry_name: ClassVar[str] = ""
    """Set by ``@register_model(name)``."""

    def __init__(self, specs: dict[str, ModalitySpec], config: Any) -> None:
        super().__init__()
        if not specs:
            raise ValueError("a model needs at least one modality")
        self.specs = dict(specs)
        self.config = config

    @property
    def modalities(self) -> list[str]:
        return list(self.specs)

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Any:
        """Joint posterior q(z | present modalities) (a ``Gaussian`` from ``mmlatent.latent``);
        only models whose capabilities say ``encodes`` have one."""
        raise ValueError(
            f"model {self.registry_name or type(self).__name__!r} has no encoder "
            "(capabilities.encodes is False): it cannot embed, reconstruct or fit latent samplers"
        )

    def directions(self) -> list[tuple[tuple[str, ...], str]]:
        """``(sources, target)`` pairs that ``generate(given=sources, targets=[target])`` serves:
        by default every non-empty proper subset of the modalities to each modality outside it."""
        names = self.modalities
        subsets = [s for k in range(1, len(names)) for s in combinations(names, k)]
        return [(s, t) for s in subsets for t in names if t not in s]

    @abstractmethod
    def generate(
        self,
        n: int | None = None,
        *,
        given: dict[str, Tensor] | None = None,
        targets: Sequence[str] | None = None,
        latent: Tensor | None = None,
        temperature: float = 1.0,
    ) -> dict[str, Tensor]:
        """Data-space samples, in each modality's preprocessed format (token ids for text).

        Exactly one source: ``n`` (prior), ``given`` (all samples have every given modality), or
        ``latent`` (codes from a sampler). ``temperature`` scales each draw's distance from its
        distribution's mean (``tempered``): 1 draws, 0 decodes the posterior's or prior's mean
        (a mixture of experts decodes the mean of one given modality's expert, chosen at random
        per row: the mixture's own mean can fall between its modes); codes passed as ``latent``
        are decoded as they are.
        ``targets`` defaults to every modality (``given`` ones included, which makes
        ``generate(given=x)`` a reconstruction). Image/audio/vector come back as likelihood
        means (images in [0, 1]), text as argmax token ids (long).
        """

    def prior_draw(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> Tensor:
        """n codes from the model's prior, as ``generate(n)`` decodes them and the ``prior``
        sampler hands them out: N(0, I) here (zeros at temperature 0), (n, latent_dim)."""
        return tempered_normal(
            (n, self.latent_dim), temperature, generator=generator, device=self.device
        )

    @torch.no_grad()
    def embed(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """Posterior means: the codes that samplers and probes are fitted to."""
        return self.encode(data, mask).mean

    @property
    def latent_dim(self) -> int:
        """Size of the codes ``generate(latent=...)`` takes and ``embed`` returns."""
        return int(self.config.latent_dim)

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    @property
    def device(self) -> torch.device:
        """Where the parameters live: tensors a model creates (prior draws) go here, never guessed."""
        for tensor in self.parameters():
            return tensor.device
        raise ValueError(f"{type(self).__name__} has no parameters to take a device from")


def generation_source(n: int | None, given: dict[str, Tensor] | None, latent: Tensor | None) -> str:
    """Which one of ``generate``'s exclusive sources was passed: ``n``, ``given`` or ``latent``."""
    chosen = [name for name, v in (("n", n), ("given", given), ("latent", latent)) if v is not None]
    if len(chosen) != 1:
        raise ValueError(f"generate needs exactly one of n, given, latent; got {chosen or 'none'}")
    if n is not None and n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if given is not None and not given:
        raise ValueError("given must name at least one modality")
    if latent is not None and latent.dim() != 2:
        raise ValueError(f"latent must be (N, latent_dim), got shape {tuple(latent.shape)}")
    return chosen[0]


def choose_modality(specs: dict[str, ModalitySpec], modality: str | None) -> str:
    """The one modality a model keeps: ``modality``, or the only one in ``specs``."""
    choices = sorted(specs)
    if modality is None:
        if len(specs) != 1:
            raise ValueError(
                f"modality must name the one modality to model when the data has several; "
                f"choose one of {choices}"
            )
        return choices[0]
    if modality not in specs:
        raise ValueError(f"modality {modality!r} is not in the data; choose one of {choices}")
    return modality
