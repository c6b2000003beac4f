"""Differentiable augmentation of what a GAN's discriminator sees (Zhao et al., "Differentiable
Augmentation for Data-Efficient GAN Training", NeurIPS 2020). https://arxiv.org/abs/2006.10738

With a few thousand training images a discriminator memorises them within a few epochs (its
hinge loss falls to ~0 on ``digits``) and stops teaching the generator. Random translation and
cutout, drawn afresh for every sample and applied alike to real and generated samples in both
players' losses, keep it from memorising. Both are differentiable in the samples, so the
generator learns through them; since the generator is never asked to produce augmented data,
its samples are not shifted or cut (the paper's point against augmenting the real data only).

Each transform takes and returns (B, C, H, W) and draws from the global torch generator, which
the training seed fixes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def translate(x: Tensor, fraction: float = 0.125) -> Tensor:
    """Each sample shifted by up to ``fraction`` of its height and width, padded with zeros
    (the data's floor: black pixels, silent log-mel bins)."""
    batch, _, height, width = x.shape
    pad_h, pad_w = round(height * fraction), round(width * fraction)
    if pad_h == 0 and pad_w == 0:
        return x
    shift_h = torch.randint(-pad_h, pad_h + 1, (batch, 1, 1), device=x.device)
    shift_w = torch.randint(-pad_w, pad_w + 1, (batch, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device)[None, :, None] + pad_h + shift_h  # (B, H, 1)
    cols = torch.arange(width, device=x.device)[None, None, :] + pad_w + shift_w  # (B, 1, W)
    padded = F.pad(x, (pad_w, pad_w, pad_h, pad_h))
    index = torch.arange(batch, device=x.device)[:, None, None]
    return padded[index, :, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def cutout(x: Tensor, fraction: float = 0.5) -> Tensor:
    """Each sample with one rectangle of ``fraction`` of its height and width set to zero, at a
    random centre (it may hang over the edge)."""
    batch, _, height, width = x.shape
    size_h, size_w = round(height * fraction), round(width * fraction)
    top = torch.randint(0, height, (batch, 1, 1), device=x.device) - size_h // 2
    left = torch.randint(0, width, (batch, 1, 1), device=x.device) - size_w // 2
    rows = torch.arange(height, device=x.device)[None, :, None]  # (1, H, 1)
    cols = torch.arange(width, device=x.device)[None, None, :]  # (1, 1, W)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)  # (B, 1, H, W) mask over every channel


def diff_augment(x: Tensor) -> Tensor:
    """The paper's policy for small data sets without colour: translation, then cutout."""
    return cutout(translate(x))
