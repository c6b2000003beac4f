"""Latent samplers, registered by name (``mmlatent.SAMPLERS``); saved and loaded as safetensors."""

from mmlatent.registry import SAMPLERS
from mmlatent.samplers.base import LatentSampler, SamplerFileError


def build_sampler(name: str, **options: object) -> LatentSampler:
    """The registered sampler ``name``, its options checked (an error names the option)."""
    return SAMPLERS.get(name)(**options)


load_sampler = LatentSampler.load

__all__ = ["LatentSampler", "SamplerFileError", "build_sampler", "load_sampler"]
