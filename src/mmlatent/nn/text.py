"""Token-id sequences (L,) over a vocabulary of V ids (pad = 0).

Encoder: embedding + two width-3 conv1d layers, flattened so word order survives. Decoder: an
autoregressive GRU conditioned on z (see ``TextDecoder``); pad positions are predicted like any
token, so the generated sequence says where it ends.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mmlatent.nn.build import register_networks
from mmlatent.nn.layers import activation
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
    """(B, latent_dim) -> (B, L, V) logits, autoregressive (a GRU fed z at every step).

    Captions of one content come in several phrasings ("a handwritten seven", "the digit 7"); a
    decoder that predicts every position independently mixes them into word salad, while an
    autoregressive one commits to one phrasing as it goes (Bowman et al., "Generating Sentences
    from a Continuous Space", 2016, also feed z at each step). With ``tokens`` it is
    teacher-forced (training); without, it decodes greedily and returns the logits of each step,
    whose argmax is the generated sequence.
    """

    autoregressive = True

    def __init__(self, length: int, vocab_size: int, latent_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.length = length
        self.embed = nn.Embedding(vocab_size, hidden_dim, padding_idx=PAD_ID)
        self.start = nn.Parameter(torch.zeros(1, 1, hidden_dim))  # first input: no token yet
        self.initial = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Tanh())
        self.gru = nn.GRU(hidden_dim + latent_dim, hidden_dim, batch_first=True)
        self.readout = nn.Linear(hidden_dim + latent_dim, vocab_size)

    def _step_inputs(self, z: Tensor, previous: Tensor) -> Tensor:
        """(B, T, H) previous-token embeddings -> (B, T, H + D) GRU inputs, z beside each."""
        steps = previous.shape[1]
        return torch.cat([previous, z.unsqueeze(1).expand(-1, steps, -1)], dim=-1)

    def _logits(self, z: Tensor, hidden: Tensor) -> Tensor:
        steps = hidden.shape[1]
        return self.readout(torch.cat([hidden, z.unsqueeze(1).expand(-1, steps, -1)], dim=-1))

    def forward(self, z: Tensor, tokens: Tensor | None = None) -> Tensor:
        start = self.start.expand(len(z), -1, -1)  # (B, 1, H)
        state = self.initial(z).unsqueeze(0)  # (1, B, H)
        if tokens is not None:
            previous = torch.cat([start, self.embed(tokens[:, :-1].long())], dim=1)  # (B, L, H)
            hidden, _ = self.gru(self._step_inputs(z, previous), state)  # (B, L, H)
            return self._logits(z, hidden)  # (B, L, V)
        logits, previous = [], start
        for _ in range(self.length):
            hidden, state = self.gru(self._step_inputs(z, previous), state)  # (B, 1, H)
            step = self._logits(z, hidden)  # (B, 1, V)
            logits.append(step)
            previous = self.embed(step.argmax(-1))  # (B, 1, H)
        return torch.cat(logits, dim=1)  # (B, L, V)


def text_body(spec: ModalitySpec, hidden_dim: int) -> nn.Module:
    length, vocab = _length_and_vocab(spec)
    return TextBody(length, vocab, hidden_dim)


def text_decoder(spec: ModalitySpec, latent_dim: int, hidden_dim: int) -> nn.Module:
    length, vocab = _length_and_vocab(spec)
    return TextDecoder(length, vocab, latent_dim, hidden_dim)


register_networks("text", body=text_body, decoder=text_decoder)
