"""Token-id sequences (L,) over a vocabulary of V ids (pad = 0).

Encoder: embedding + two width-3 conv1d layers, flattened so word order survives. Decoder:
non-autoregressive, every position's logits at once from z (as in the MoPoE/MMVAE text
networks), so generation is one forward pass and pad positions are predicted like any token.
"""

from __future__ import annotations

from torch import Tensor, nn

from mmlatent.nn.build import register_networks
from mmlatent.nn.layers import GaussianEncoder, activation, mlp
from mmlatent.types import ModalitySpec

PAD_ID = 0
"""Token id of padding; its embedding is fixed at zero."""


def _length_and_vocab(spec: ModalitySpec) -> tuple[int, int]:
    if len(spec.shape) != 1 or spec.vocab_size is None:
        raise ValueError(f"modality {spec.name!r}: text needs a (L,) shape and a vocab_size")
    return spec.shape[0], spec.vocab_size


class TextBody(nn.Module):
    """(B, L) long -> (B, hidden_dim) features."""

    def __init__(self, length: int, vocab_size: int, hidden_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden_dim, padding_idx=PAD_ID)
        self.conv = nn.Sequential(
            nn.Conv1d(hidden_dim, hidden_dim, 3, padding=1),
            activation(),
            nn.Conv1d(hidden_dim, hidden_dim, 3, padding=1),
            activation(),
            nn.Flatten(),  # (B, H * L)
            nn.Linear(hidden_dim * length, hidden_dim),
            activation(),
        )

    def forward(self, tokens: Tensor) -> Tensor:
        return self.conv(self.embed(tokens).transpose(1, 2))  # embed: (B, L, H) -> (B, H, L)


class TextDecoder(nn.Module):
    """(B, latent_dim) -> (B, L, V) logits for every position."""

    def __init__(self, length: int, vocab_size: int, latent_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.seed = nn.Sequential(
            mlp([latent_dim, hidden_dim, hidden_dim * length], final_activation=True),
            nn.Unflatten(1, (hidden_dim, length)),  # (B, H, L)
        )
        self.conv = nn.Sequential(
            nn.Conv1d(hidden_dim, hidden_dim, 3, padding=1),
            activation(),
            nn.Conv1d(hidden_dim, vocab_size, 1),  # (B, V, L)
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.conv(self.seed(z)).transpose(1, 2)  # (B, L, V)


def text_encoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    length, vocab = _length_and_vocab(spec)
    return GaussianEncoder(TextBody(length, vocab, hidden_dim), hidden_dim, latent_dim)


def text_decoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    length, vocab = _length_and_vocab(spec)
    return TextDecoder(length, vocab, latent_dim, hidden_dim)


register_networks("text", encoder=text_encoder, decoder=text_decoder)
