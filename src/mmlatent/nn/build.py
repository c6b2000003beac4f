"""Networks looked up by modality kind: each kind's module registers one encoder and one decoder
builder, so adding a kind is one new file imported in ``mmlatent.nn``.

Contract: ``build_encoder(spec, latent_dim, hidden_dim)(x)`` maps (B, *spec.shape) to a
``(mean, logvar)`` pair, each (B, latent_dim); ``build_decoder(spec, latent_dim, hidden_dim)(z)``
maps (B, latent_dim) to likelihood parameters: (B, *spec.shape), or (B, L, V) logits for
``categorical``. Networks hold no batch statistics (no BatchNorm): each sample's output depends on
that sample alone, so placeholder values of missing samples cannot leak into the others.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from mmlatent.types import ModalitySpec

Builder = Callable[[ModalitySpec, int, int], nn.Module]
ENCODERS: dict[str, Builder] = {}
DECODERS: dict[str, Builder] = {}


def register_networks(kind: str, *, encoder: Builder, decoder: Builder) -> None:
    """Make ``encoder`` and ``decoder`` the builders for modalities of ``kind``."""
    if kind in ENCODERS:
        raise ValueError(f"networks for kind {kind!r} are registered twice")
    ENCODERS[kind] = encoder
    DECODERS[kind] = decoder


def _lookup(
    table: dict[str, Builder], spec: ModalitySpec, latent_dim: int, hidden_dim: int
) -> Builder:
    if latent_dim < 1 or hidden_dim < 1:
        raise ValueError(f"latent_dim and hidden_dim must be >= 1, got {latent_dim}, {hidden_dim}")
    if (spec.kind == "text") != (spec.likelihood == "categorical"):
        raise ValueError(
            f"modality {spec.name!r}: the categorical likelihood goes with the text kind only "
            f"(got kind {spec.kind!r}, likelihood {spec.likelihood!r})"
        )
    try:
        return table[spec.kind]
    except KeyError:
        raise ValueError(
            f"modality {spec.name!r}: no networks for kind {spec.kind!r}; "
            f"choose one of: {', '.join(sorted(table))}"
        ) from None


def build_encoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    """Encoder for ``spec``: (B, *shape) -> (mean, logvar), each (B, latent_dim)."""
    return _lookup(ENCODERS, spec, latent_dim, hidden_dim)(spec, latent_dim, hidden_dim)


def build_decoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    """Decoder for ``spec``: (B, latent_dim) -> likelihood parameters (see module doc)."""
    return _lookup(DECODERS, spec, latent_dim, hidden_dim)(spec, latent_dim, hidden_dim)
