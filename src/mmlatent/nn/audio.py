"""Audio as log-mel spectrograms (1, n_mels, frames): a one-channel image to the 2-D conv networks,
the usual treatment of spectrograms in audio-visual VAEs (e.g. AVMNIST baselines)."""

from __future__ import annotations

from torch import nn

from mmlatent.nn.build import register_networks
from mmlatent.nn.conv2d import conv_body, conv_decoder
from mmlatent.types import ModalitySpec


def audio_body(spec: ModalitySpec, hidden_dim: int) -> nn.Module:
    return conv_body(spec.shape, hidden_dim)


def audio_decoder(
    spec: ModalitySpec, latent_dim: int, hidden_dim: int, *, refine: int = 0
) -> nn.Module:
    return conv_decoder(spec.shape, latent_dim, hidden_dim, refine=refine)


register_networks("audio", body=audio_body, decoder=audio_decoder, refinable=True)
