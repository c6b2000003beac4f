"""What the two neural samplers (latent GAN, latent diffusion) share: options, MLPs, whitening of
the codes, seeded mini-batches.

Both train a small network on a tensor of codes, so a plain loop in torch is all they need:
no data loader, no trainer, and nothing of the model that made the codes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import ClassVar

import torch
from torch import Tensor, nn

from mmlatent.config import ConfigError
from mmlatent.samplers.base import LatentSampler


@dataclass(kw_only=True)
class NeuralSamplerOptions:
    steps: int = 3000
    """Optimisation steps (of the generator, for the GAN)."""
    batch_size: int = 256
    """Codes per step."""
    hidden_dim: int = 128
    """Width of every hidden layer."""
    depth: int = 3
    """Hidden layers per network."""
    lr: float = 1e-3
    """Adam learning rate."""

    may_be_zero: ClassVar[tuple[str, ...]] = ()
    """Numeric options for which 0 is meaningful (must be >= 0); every other one must be > 0."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if value < 0 or (value == 0 and f.name not in self.may_be_zero):
                bound = ">= 0" if f.name in self.may_be_zero else "> 0"
                raise ConfigError(f"sampler option {f.name} must be {bound}, got {value!r}")


def mlp(d_in: int, hidden: int, d_out: int, depth: int, *, spectral: bool = False) -> nn.Sequential:
    """``depth`` SiLU hidden layers; ``spectral`` wraps each linear layer in spectral norm (a
    1-Lipschitz critic helps a GAN's discriminator stay informative)."""

    def linear(a: int, b: int) -> nn.Module:
        layer = nn.Linear(a, b)
        return nn.utils.parametrizations.spectral_norm(layer) if spectral else layer

    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [linear(d_in if i == 0 else hidden, hidden), nn.SiLU()]
    layers.append(linear(hidden if depth else d_in, d_out))
    return nn.Sequential(*layers)


def whitening(codes: Tensor) -> tuple[Tensor, Tensor]:
    """Per-dimension (shift, scale) that bring the codes to mean 0 and variance 1: networks and a
    diffusion's unit-variance noise both work best on that scale."""
    shift = codes.mean(dim=0)
    scale = codes.std(dim=0).clamp_min(1e-6) if len(codes) > 1 else torch.ones_like(shift)
    return shift.float(), scale.float()


def random_batches(
    n: int, batch_size: int, steps: int, generator: torch.Generator
) -> Iterator[Tensor]:
    """``steps`` index batches drawn from ``range(n)`` through ``generator``, each epoch reshuffled."""
    batch_size = min(batch_size, n)
    per_epoch = n // batch_size
    for epoch in range(math.ceil(steps / per_epoch)):
        order = torch.randperm(n, generator=generator)
        for i in range(min(per_epoch, steps - epoch * per_epoch)):
            yield order[i * batch_size : (i + 1) * batch_size]


def cosine_lr(optimiser: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning rate annealed to 0 over training: steadier final weights for sampling."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)


@contextmanager
def seeded_from(generator: torch.Generator) -> Iterator[None]:
    """Torch's global RNG seeded from ``generator`` for the block (module initialisation uses it),
    the caller's RNG state restored afterwards."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one CPU thread. Matrices of a few hundred columns are too small to share
    out: on a busy 2-core machine the thread pool's synchronisation made a training step of the
    latent diffusion ten times slower (0.47 s against 0.047 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class WhitenedNeuralSampler(LatentSampler):
    """A network trained on whitened codes, on one thread; samples are mapped back to the codes'
    scale. Subclasses write ``_train(whitened, generator)`` and
    ``_sample_whitened(n, generator, temperature)``
    and list ``shift`` and ``scale`` among their state attributes."""

    shift: Tensor
    scale: Tensor

    def _fit(self, codes: Tensor, generator: torch.Generator) -> None:
        with one_thread():
            self.shift, self.scale = whitening(codes)
            # in float64: codes far from 0 with a small spread lose their digits in float32
            whitened = (codes.double() - self.shift.double()) / self.scale.double()
            self._train(whitened.float(), generator)  # (N, D)

    def _train(self, whitened: Tensor, generator: torch.Generator) -> None:
        raise NotImplementedError

    def _check_state(self) -> None:
        if self.shift.shape != (self.dim,) or self.scale.shape != (self.dim,):
            raise ValueError(f"shift and scale must be ({self.dim},)")

    @torch.no_grad()
    def _sample(self, n: int, generator: torch.Generator | None, temperature: float) -> Tensor:
        with one_thread():
            whitened = self._sample_whitened(n, generator, temperature)
            return whitened * self.scale + self.shift  # (n, D)

    def _sample_whitened(
        self, n: int, generator: torch.Generator | None, temperature: float
    ) -> Tensor:
        raise NotImplementedError
