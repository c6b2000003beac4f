"""Sampling temperature: how far toward a draw's mean a drawn code is pulled.

One rule for every code the library draws (posteriors, priors, fitted latent samplers, a GAN's
noise): ``mean + t (draw - mean)``, the draw itself at 1 and the mean at 0. Below 1 it trades
variety for typical samples, as sampling temperature does in Glow (Kingma & Dhariwal 2018).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
from torch import Tensor


def check_temperature(temperature: float) -> float:
    """``temperature`` itself, once it is a finite number >= 0 (a negative one would mirror every
    draw through the mean)."""
    if not (
        isinstance(temperature, numbers.Real) and math.isfinite(temperature) and temperature >= 0
    ):
        raise ValueError(
            "temperature must be a finite number >= 0 (0 takes the mean, 1 a plain draw), "
            f"got {temperature!r}"
        )
    return float(temperature)


def tempered(mean: Tensor, draw: Callable[[], Tensor], temperature: float) -> Tensor:
    """A code ``temperature`` of the way from ``mean`` to ``draw()``: the draw itself at 1, the
    mean at 0 (nothing is drawn, so the random stream is left as it was)."""
    if check_temperature(temperature) == 0:
        return mean
    code = draw().to(mean.device)
    return code if temperature == 1 else mean + temperature * (code - mean)


def tempered_normal(
    shape: tuple[int, ...],
    temperature: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """N(0, I) noise of ``shape`` on ``device``, tempered toward its mean, zero: the noise of
    N(0, I) priors, GAN generators and diffusion steps. Drawn on the generator's device, so a
    seeded generator gives the same noise wherever the result goes."""
    where = generator.device if generator is not None else device
    return tempered(
        torch.zeros(shape, device=device),
        lambda: torch.randn(shape, generator=generator, device=where),
        temperature,
    )
