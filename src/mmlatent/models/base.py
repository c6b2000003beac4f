"""The API every generative model in mmlatent shares (plain ``nn.Module``, no Lightning).

A model is built from ``specs`` (one ``ModalitySpec`` per modality) and its config dataclass:
``Model(specs, config)``. Batches follow :class:`mmlatent.types.Batch`: ``data`` and ``mask``
dicts keyed by modality name; a masked-out sample's values are never read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmlatent.types import ModalitySpec


@dataclass
class LossOutput:
    """``total`` is what the optimiser minimises; ``terms`` are logged (detached by the caller)."""

    total: Tensor
    terms: dict[str, Tensor]


class GenerativeModel(nn.Module, ABC):
    """Uniform API: ``encode``, ``decode``, ``loss``, ``generate``."""

    config_class: ClassVar[type]
    registry_name: ClassVar[str] = ""

    def __init__(self, specs: dict[str, ModalitySpec], config: Any) -> None:
        super().__init__()
        if not specs:
            raise ValueError("a model needs at least one modality")
        self.specs = dict(specs)
        self.config = config

    @property
    def modalities(self) -> list[str]:
        return list(self.specs)

    @abstractmethod
    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Any:
        """Joint posterior q(z | present modalities) (a ``Gaussian`` from ``mmlatent.latent``)."""

    @abstractmethod
    def decode(
        self,
        z: Tensor,
        targets: Sequence[str] | None = None,
        *,
        inputs: dict[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Likelihood parameters per target: logits (bernoulli, categorical) or means.

        ``inputs`` (observed data) teacher-force autoregressive decoders during training; without
        them such decoders generate greedily.
        """

    @abstractmethod
    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """Negative ELBO (or the model's objective) averaged over the batch."""

    @abstractmethod
    def generate(
        self,
        n: int | None = None,
        *,
        given: dict[str, Tensor] | None = None,
        targets: Sequence[str] | None = None,
        latent: Tensor | None = None,
        sample_latent: bool = True,
    ) -> dict[str, Tensor]:
        """Data-space samples, in each modality's preprocessed format (token ids for text).

        Exactly one source: ``n`` (prior), ``given`` (all samples have every given modality), or
        ``latent`` (codes from a sampler). ``sample_latent=False`` decodes the posterior mean
        instead of a draw. ``targets`` defaults to every modality (``given`` ones included, which
        makes ``generate(given=x)`` a reconstruction). Image/audio/vector come back as likelihood
        means (images in [0, 1]), text as argmax token ids (long).
        """

    @torch.no_grad()
    def embed(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """Posterior means: the codes that samplers and probes are fitted to."""
        return self.encode(data, mask).mean

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
