"""A GAN's two networks, sized from the modality they make: images and log-mel spectrograms alike.

The generator mirrors the strided conv encoder of :mod:`mmlatent.nn.conv2d` (the same number of
halvings and channels, so a (1, 28, 28) digit and a (1, 32, 64) log-mel each get a fitting net);
the discriminator is that encoder's body with a linear head, and with a condition, a projection
head (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018).
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import Tensor, nn

from mmlatent.nn.adversarial import spectral_normed
from mmlatent.nn.build import build_body
from mmlatent.nn.conv2d import channel_plan, check_grid, downsample_steps
from mmlatent.types import ModalitySpec


def require_grid(spec: ModalitySpec) -> ModalitySpec:
    """``spec`` itself, once it is image-like (C, H, W): what a conv generator can make."""
    if spec.kind == "text" or len(spec.shape) != 3:
        raise ValueError(
            f"modality {spec.name!r} ({spec.kind}, shape {spec.shape}): a GAN generates "
            "image-like (C, H, W) modalities only, e.g. images and log-mel spectrograms"
        )
    return spec


class ConvGenerator(nn.Module):
    """(B, in_dim) -> (B, C, H, W) logits, the DCGAN layout (Radford et al., "Unsupervised
    Representation Learning with Deep Convolutional GANs", ICLR 2016): a linear layer to the
    smallest grid, then stride-2 transposed convolutions with BatchNorm and ReLU between them.

    BatchNorm, unlike in the VAEs' networks, is safe here: a generator only ever sees noise and
    conditions, never a masked sample. Its output is cropped to the exact (H, W).
    """

    def __init__(self, shape: tuple[int, ...], in_dim: int, hidden_dim: int) -> None:
        super().__init__()
        channels, self.height, self.width = check_grid(shape)
        steps = downsample_steps(self.height, self.width)
        plan = channel_plan(hidden_dim, steps)
        c_first = plan[-1] if plan else hidden_dim
        h0, w0 = math.ceil(self.height / 2**steps), math.ceil(self.width / 2**steps)
        layers: list[nn.Module] = [
            nn.Linear(in_dim, c_first * h0 * w0),
            nn.Unflatten(1, (c_first, h0, w0)),  # (B, C_first, h0, w0)
            nn.BatchNorm2d(c_first),
            nn.ReLU(),
        ]
        widths = [c_first, *plan[::-1][1:]]  # the encoder's channels, mirrored
        for c_in, c_out in pairwise(widths):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
        last = nn.ConvTranspose2d(widths[-1], channels, 4, stride=2, padding=1) if plan else None
        layers.append(last or nn.Conv2d(widths[-1], channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)[..., : self.height, : self.width]  # (B, C, H, W)


class Discriminator(nn.Module):
    """(B, *shape) [, condition (B, *condition shape)] -> (B,) logits.

    Unconditional: ``head(phi(x))``. Conditional (projection): ``head(phi(x)) + <psi(c), phi(x)>``,
    with ``psi`` the condition modality's own feature body (tokens, sentence features, log-mels).
    """

    def __init__(
        self,
        spec: ModalitySpec,
        hidden_dim: int,
        *,
        condition: ModalitySpec | None = None,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.features = build_body(require_grid(spec), hidden_dim)  # phi: (B, H)
        self.head = nn.Linear(hidden_dim, 1)
        self.condition = None if condition is None else build_body(condition, hidden_dim)  # psi
        if spectral_norm:
            spectral_normed(self)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        if (condition is None) != (self.condition is None):
            raise ValueError("a conditional discriminator needs a condition; others take none")
        features = self.features(x)  # (B, H)
        logits = self.head(features).squeeze(-1)  # (B,)
        if self.condition is not None:
            logits = logits + (self.condition(condition) * features).sum(-1)
        return logits


def noise(n: int, dim: int, *, device: torch.device, sample: bool = True) -> Tensor:
    """(n, dim) standard normal draws, or zeros (the noise's mean) when not ``sample``."""
    draw = torch.randn if sample else torch.zeros
    return draw((n, dim), device=device)
