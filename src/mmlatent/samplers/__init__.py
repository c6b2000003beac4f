"""Latent samplers, registered by name (``mmlatent.SAMPLERS``)."""

from mmlatent.registry import SAMPLERS
from mmlatent.samplers import gmm, prior
from mmlatent.samplers.base import LatentSampler


def build_sampler(name: str, **options: object) -> LatentSampler:
    return SAMPLERS.get(name)(**options)


__all__ = ["LatentSampler", "build_sampler", "gmm", "prior"]
