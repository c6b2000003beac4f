"""Images (C, H, W) in [0, 1]: the shared 2-D conv networks."""

from __future__ import annotations

from torch import nn

from mmlatent.nn.build import register_networks
from mmlatent.nn.conv2d import conv_body, conv_decoder
from mmlatent.types import ModalitySpec


def image_body(spec: ModalitySpec, hidden_dim: int) -> nn.Module:
    return conv_body(spec.shape, hidden_dim)


def image_decoder(
    spec: ModalitySpec, latent_dim: int, hidden_dim: int, *, refine: int = 0
) -> nn.Module:
    return conv_decoder(spec.shape, latent_dim, hidden_dim, refine=refine)


register_networks("image", body=image_body, decoder=image_decoder, refinable=True)
