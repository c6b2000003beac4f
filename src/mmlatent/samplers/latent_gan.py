"""A small GAN on the codes: an MLP generator from noise to (whitened) codes, against an MLP critic.

The seed's generation step trains a generator on the learned latent representation; this is that
generator for the latent space itself. The objective is WGAN-GP (Gulrajani et al., "Improved
Training of Wasserstein GANs", NeurIPS 2017, Algorithm 1): on a low-dimensional mixture of
clusters, the Wasserstein critic with a gradient penalty keeps every cluster's gradient alive,
where the non-saturating loss tends to drop some of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mmlatent.latent.temperature import tempered_normal
from mmlatent.registry import register_sampler
from mmlatent.samplers.neural import (
    NeuralSamplerOptions,
    WhitenedNeuralSampler,
    cosine_lr,
    mlp,
    random_batches,
    seeded_from,
)


@dataclass(kw_only=True)
class LatentGANOptions(NeuralSamplerOptions):
    steps: int = 1500
    """Generator steps (each after ``n_critic`` critic steps)."""
    depth: int = 2
    """Hidden layers of the generator and of the critic."""
    lr: float = 5e-4
    """Adam learning rate of both networks (Adam betas 0.5, 0.9 as in WGAN-GP)."""
    n_critic: int = 2
    """Critic steps per generator step."""
    gradient_penalty: float = 1.0
    """Weight of the penalty on the critic's gradient norm deviating from 1 (lambda); the codes
    are whitened, so a smaller weight than the paper's 10 suffices."""
    noise_dim: int = 32
    """Width of the generator's input noise."""


def gradient_penalty(
    critic: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator
) -> Tensor:
    """E[(||grad critic(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake codes."""
    mix = torch.rand(len(real), 1, generator=generator)
    x_hat = (mix * real + (1 - mix) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm(dim=1) - 1).square().mean()


@register_sampler("latent-gan")
class LatentGANSampler(WhitenedNeuralSampler):
    options_class = LatentGANOptions
    state_attributes = ("shift", "scale", "network")
    options: LatentGANOptions

    network: nn.Sequential
    """The generator: noise (noise_dim) -> whitened code (D)."""

    def _build(self) -> None:
        opt = self.options
        self.network = mlp(opt.noise_dim, opt.hidden_dim, self.dim, opt.depth).eval()

    def _train(self, real_all: Tensor, generator: torch.Generator) -> None:
        opt = self.options
        with seeded_from(generator):
            self._build()
            critic = mlp(self.dim, opt.hidden_dim, 1, opt.depth)
        self.network.train()
        g_opt = torch.optim.Adam(self.network.parameters(), lr=opt.lr, betas=(0.5, 0.9))
        c_opt = torch.optim.Adam(critic.parameters(), lr=opt.lr, betas=(0.5, 0.9))
        schedules = [cosine_lr(g_opt, opt.steps), cosine_lr(c_opt, opt.steps * opt.n_critic)]
        batches = random_batches(len(real_all), opt.batch_size, opt.steps * opt.n_critic, generator)
        distances = []
        for _ in range(opt.steps):
            for _ in range(opt.n_critic):
                real = real_all[next(batches)]
                with torch.no_grad():
                    fake = self.network(self._noise(len(real), generator))
                distance = critic(real).mean() - critic(fake).mean()
                penalty = gradient_penalty(critic, real, fake, generator)
                c_opt.zero_grad(set_to_none=True)
                (opt.gradient_penalty * penalty - distance).backward()
                c_opt.step()
                schedules[1].step()
            fake = self.network(self._noise(opt.batch_size, generator))
            g_loss = -critic(fake).mean()
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
            schedules[0].step()
            distances.append(float(distance.detach()))
        self.network.eval()
        tail = distances[-max(1, len(distances) // 10) :]
        self.info = {"final_wasserstein_estimate": sum(tail) / len(tail), "steps": len(distances)}

    def _noise(self, n: int, generator: torch.Generator | None) -> Tensor:
        return torch.randn(n, self.options.noise_dim, generator=generator)

    def _sample_whitened(
        self, n: int, generator: torch.Generator | None, temperature: float
    ) -> Tensor:
        """The generator on its noise tempered toward the noise's mean, zero (at 0 every code is
        the generator's image of it): narrower noise, the idea of BigGAN's truncation trick,
        which resamples large values instead of scaling them."""
        noise = tempered_normal((n, self.options.noise_dim), temperature, generator=generator)
        return self.network(noise)
