"""Feature vectors (D,): two-layer MLPs."""

from __future__ import annotations

from torch import nn

from mmlatent.nn.build import register_networks
from mmlatent.nn.layers import mlp
from mmlatent.types import ModalitySpec


def _size(spec: ModalitySpec) -> int:
    if len(spec.shape) != 1:
        raise ValueError(f"modality {spec.name!r}: vectors need a (D,) shape, got {spec.shape}")
    return spec.shape[0]


def vector_body(spec: ModalitySpec, hidden_dim: int) -> nn.Module:
    return mlp([_size(spec), hidden_dim, hidden_dim], final_activation=True)


def vector_decoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    return mlp([latent_dim, hidden_dim, hidden_dim, _size(spec)])


register_networks("vector", body=vector_body, decoder=vector_decoder)
