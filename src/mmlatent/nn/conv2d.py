"""Convolutional networks over (C, H, W) grids of any size: images and log-mel spectrograms.

Each stride-2 layer halves the grid (kernel 4, padding 1 gives floor(n / 2)) until the next halving
would go below ``MIN_GRID``; the encoder flattens the exact grid it ends on. The decoder mirrors
it from ceil(n / 2^steps), so it ends on a grid at least as large as the data, and crops to the
exact shape (no interpolation blur). DCGAN-style layout (Radford et al. 2016) without BatchNorm.
Full-resolution layers only where asked (``refine``): on a CPU two of them cost more than all the
strided ones together (a refined audio decoder makes a MoPoE epoch 2.4 times as long).
"""

from __future__ import annotations

import math
from itertools import pairwise

from torch import Tensor, nn

from mmlatent.nn.layers import activation, mlp

MIN_GRID = 4
"""Smallest grid side a stride-2 layer may produce."""
MAX_STEPS = 5
"""At most this many halvings (a 128-pixel side ends on 4)."""


def downsample_steps(height: int, width: int) -> int:
    """Number of stride-2 layers for an H x W grid."""
    steps = 0
    while steps < MAX_STEPS and min(height, width) // 2 >= MIN_GRID:
        height, width, steps = height // 2, width // 2, steps + 1
    return steps


def channel_plan(hidden_dim: int, steps: int) -> list[int]:
    """Channels after each stride-2 layer: doubling from hidden/4, capped at hidden."""
    base = max(8, hidden_dim // 4)
    cap = max(base, hidden_dim)
    return [min(base * 2**i, cap) for i in range(steps)]


class ConvBody2d(nn.Module):
    """(B, C, H, W) -> (B, hidden_dim) features."""

    def __init__(self, shape: tuple[int, ...], hidden_dim: int) -> None:
        super().__init__()
        channels, height, width = shape
        steps = downsample_steps(height, width)
        plan = channel_plan(hidden_dim, steps)
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise([channels, *plan]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), activation()]
        grid = (height // 2**steps) * (width // 2**steps)
        c_last = plan[-1] if plan else channels  # grids under 8 pixels get no conv layer
        layers += [nn.Flatten(), nn.Linear(c_last * grid, hidden_dim), activation()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvDecoder2d(nn.Module):
    """(B, latent_dim) -> (B, C, H, W) likelihood parameters (logits or means)."""

    def __init__(
        self, shape: tuple[int, ...], latent_dim: int, hidden_dim: int, *, refine: int = 0
    ) -> None:
        super().__init__()
        channels, self.height, self.width = shape
        steps = downsample_steps(self.height, self.width)
        plan = channel_plan(hidden_dim, steps)
        c_last = plan[-1] if plan else channels
        h0, w0 = math.ceil(self.height / 2**steps), math.ceil(self.width / 2**steps)
        layers: list[nn.Module] = [
            mlp([latent_dim, hidden_dim, c_last * h0 * w0], final_activation=bool(plan)),
            nn.Unflatten(1, (c_last, h0, w0)),  # (B, C_last, h0, w0)
        ]
        refined = bool(plan) and refine > 0  # the last upsampling keeps features for 3x3 convs
        c_full = plan[0] if refined else channels
        widths = [*plan[::-1], c_full]  # mirror of the encoder
        for i, (c_in, c_out) in enumerate(pairwise(widths)):
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            if i < len(widths) - 2 or refined:
                layers.append(activation())
        if refined:  # 3x3 convs at full resolution: each output value reads its neighbours
            for _ in range(refine - 1):
                layers += [nn.Conv2d(c_full, c_full, 3, padding=1), activation()]
            layers.append(nn.Conv2d(c_full, channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)[..., : self.height, : self.width]  # (B, C, H, W)


def check_grid(shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` itself, once it is the (C, H, W) that conv networks need."""
    if len(shape) != 3:
        raise ValueError(f"conv networks need a (C, H, W) shape, got {shape}")
    return shape


def conv_body(shape: tuple[int, ...], hidden_dim: int) -> ConvBody2d:
    return ConvBody2d(check_grid(shape), hidden_dim)


def conv_decoder(
    shape: tuple[int, ...], latent_dim: int, hidden_dim: int, *, refine: int = 0
) -> ConvDecoder2d:
    return ConvDecoder2d(check_grid(shape), latent_dim, hidden_dim, refine=refine)
