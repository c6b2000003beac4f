"""Small pieces every kind's networks share."""

from __future__ import annotations

from itertools import pairwise

from torch import Tensor, nn


def activation() -> nn.Module:
    """One activation everywhere; SiLU is smooth, so decoders give smooth likelihood surfaces."""
    return nn.SiLU()


def mlp(sizes: list[int], *, final_activation: bool = False) -> nn.Sequential:
    """Linear layers of ``sizes[i] -> sizes[i + 1]`` with activations between them."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if final_activation or i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class GaussianEncoder(nn.Module):
    """A kind-specific ``body`` (x -> (B, features)) followed by a linear Gaussian head."""

    def __init__(self, body: nn.Module, features: int, latent_dim: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(features, 2 * latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.head(self.body(x)).chunk(2, dim=-1)  # (B, D) each
        return mean, logvar
