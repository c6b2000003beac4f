"""Networks looked up by modality kind: each kind's module registers one feature body and one
decoder builder, so adding a kind is one new file imported in ``mmlatent.nn``.

Contract: ``build_body(spec, hidden_dim)(x)`` maps (B, *spec.shape) to (B, hidden_dim) features;
``build_encoder(spec, latent_dim, hidden_dim)`` puts a Gaussian head on that body, mapping x to a
``(mean, logvar)`` pair, each (B, latent_dim); ``build_decoder(spec, latent_dim, hidden_dim)(z)``
maps (B, latent_dim) to likelihood parameters: (B, *spec.shape), or (B, L, V) logits for
``categorical``. Kinds registered ``refinable`` (grids: image, audio) also take ``refine``, the
number of full-resolution 3x3 conv layers that end the decoder. Networks hold no batch statistics
(no BatchNorm): each sample's output depends on that sample alone, so placeholder values of
missing samples cannot leak into the others.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from mmlatent.nn.layers import GaussianEncoder
from mmlatent.types import ModalitySpec

BodyBuilder = Callable[[ModalitySpec, int], nn.Module]
DecoderBuilder = Callable[..., nn.Module]  # (spec, latent_dim, hidden_dim[, *, refine])
BODIES: dict[str, BodyBuilder] = {}
DECODERS: dict[str, DecoderBuilder] = {}
REFINABLE: set[str] = set()


def register_networks(
    kind: str, *, body: BodyBuilder, decoder: DecoderBuilder, refinable: bool = False
) -> None:
    """Make ``body`` and ``decoder`` the builders for modalities of ``kind``; a ``refinable``
    decoder builder takes the keyword ``refine``."""
    if kind in BODIES:
        raise ValueError(f"networks for kind {kind!r} are registered twice")
    BODIES[kind] = body
    DECODERS[kind] = decoder
    if refinable:
        REFINABLE.add(kind)


def _lookup(table: dict, spec: ModalitySpec, *sizes: int) -> Callable:
    if min(sizes) < 1:
        raise ValueError(
            f"latent_dim and hidden_dim must be >= 1, got {', '.join(map(str, sizes))}"
        )
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


def build_body(spec: ModalitySpec, hidden_dim: int) -> nn.Module:
    """Feature network for ``spec``: (B, *shape) -> (B, hidden_dim), the encoder without a head
    (what a GAN's discriminator and condition encoders are built from)."""
    return _lookup(BODIES, spec, hidden_dim)(spec, hidden_dim)


def build_encoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    """Encoder for ``spec``: (B, *shape) -> (mean, logvar), each (B, latent_dim)."""
    body = _lookup(BODIES, spec, latent_dim, hidden_dim)(spec, hidden_dim)
    return GaussianEncoder(body, hidden_dim, latent_dim)


def build_decoder(
    spec: ModalitySpec, latent_dim: int, hidden_dim: int, *, refine: int = 0
) -> nn.Module:
    """Decoder for ``spec``: (B, latent_dim) -> likelihood parameters (see module doc)."""
    builder = _lookup(DECODERS, spec, latent_dim, hidden_dim)
    if refine == 0:
        return builder(spec, latent_dim, hidden_dim)
    if refine < 0:
        raise ValueError(f"modality {spec.name!r}: refine must be >= 0, got {refine}")
    if spec.kind not in REFINABLE:
        raise ValueError(
            f"modality {spec.name!r}: {spec.kind} decoders have no grid to refine; "
            f"refine applies to kinds: {', '.join(sorted(REFINABLE))}"
        )
    return builder(spec, latent_dim, hidden_dim, refine=refine)
