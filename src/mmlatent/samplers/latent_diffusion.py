"""A small denoising diffusion model (DDPM) on the codes: the second stage of a two-stage VAE.

Ho et al., "Denoising Diffusion Probabilistic Models", NeurIPS 2020: an MLP learns to predict the
noise added to a (whitened) code at a random step of a fixed noising schedule; sampling runs the
reverse chain from pure noise (ancestral sampling). The cosine schedule is Nichol & Dhariwal,
"Improved DDPM", ICML 2021, eq. 17. Unlike a mixture, the learned density needs no choice of
components, and unlike a GAN its training is a plain regression that does not drop modes.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mmlatent.config import ConfigError
from mmlatent.registry import register_sampler
from mmlatent.samplers.neural import (
    NeuralSamplerOptions,
    WhitenedNeuralSampler,
    cosine_lr,
    mlp,
    random_batches,
    seeded_from,
)

SCHEDULES = ("cosine", "linear")


@dataclass(kw_only=True)
class LatentDiffusionOptions(NeuralSamplerOptions):
    steps: int = 5000
    """Optimisation steps (on MoPoE's digits codes: joint coherence 0.80 at 5,000 steps of a
    256-wide denoiser, 0.56 at 3,000 steps of a 128-wide one)."""
    hidden_dim: int = 256
    """Width of every hidden layer of the denoiser."""
    timesteps: int = 100
    """Noising steps T (the reverse chain runs T network evaluations per sample)."""
    schedule: str = "cosine"
    """``cosine`` (Nichol & Dhariwal) or ``linear`` (Ho et al., rescaled to T steps)."""
    time_dim: int = 64
    """Width of the sinusoidal embedding of the step."""
    ema: float = 0.995
    """Decay of the moving average of the denoiser's weights that sampling uses."""
    clip: float = 5.0
    """Each step's estimate of the clean (whitened) code is clipped to [-clip, clip]: near
    t = T the reverse step amplifies the network's error ~30-fold, and without the clip one poor
    estimate there throws a sample far outside the codes (Ho et al.'s released sampler clips too)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"latent-diffusion option schedule must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        if not 0 <= self.ema < 1:
            raise ConfigError(f"latent-diffusion option ema must be in [0, 1), got {self.ema}")


def noise_schedule(name: str, timesteps: int) -> Tensor:
    """Betas (T,) in float64."""
    if name == "linear":
        scale = 1000 / timesteps  # Ho et al.'s 1e-4..0.02 were for T = 1000
        return torch.linspace(1e-4 * scale, 0.02 * scale, timesteps, dtype=torch.float64)
    s = 0.008
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    alpha_bar = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


def time_embedding(t: Tensor, dim: int, timesteps: int) -> Tensor:
    """Sinusoidal features (B, dim) of integer steps t (B,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = (t.float() / timesteps * 1000)[:, None] * freqs[None]  # (B, half)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Denoiser(nn.Module):
    """Predicts the noise in x_t from (x_t, t)."""

    def __init__(self, dim: int, options: LatentDiffusionOptions) -> None:
        super().__init__()
        self.time_dim, self.timesteps = options.time_dim, options.timesteps
        self.net = mlp(dim + options.time_dim, options.hidden_dim, dim, options.depth)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        emb = time_embedding(t, self.time_dim, self.timesteps)  # (B, time_dim)
        return self.net(torch.cat([x, emb], dim=-1))  # (B, D)


@register_sampler("latent-diffusion")
class LatentDiffusionSampler(WhitenedNeuralSampler):
    options_class = LatentDiffusionOptions
    state_attributes = ("shift", "scale", "denoiser")
    options: LatentDiffusionOptions

    denoiser: Denoiser
    """The moving average of the trained weights (what sampling uses)."""

    def _build(self) -> None:
        self.denoiser = Denoiser(self.dim, self.options).eval()
        self.betas = noise_schedule(self.options.schedule, self.options.timesteps)  # (T,)
        self.alpha_bar = torch.cumprod(1 - self.betas, dim=0)  # (T,)

    def _train(self, x0_all: Tensor, generator: torch.Generator) -> None:
        opt = self.options
        with seeded_from(generator):
            self._build()
        model = copy.deepcopy(self.denoiser).train()
        optimiser = torch.optim.Adam(model.parameters(), lr=opt.lr)
        schedule = cosine_lr(optimiser, opt.steps)
        root_ab = self.alpha_bar.sqrt().float()
        root_1m_ab = (1 - self.alpha_bar).sqrt().float()
        losses = []
        for idx in random_batches(len(x0_all), opt.batch_size, opt.steps, generator):
            x0 = x0_all[idx]
            t = torch.randint(0, opt.timesteps, (len(idx),), generator=generator)
            noise = torch.randn(x0.shape, generator=generator)
            xt = root_ab[t, None] * x0 + root_1m_ab[t, None] * noise
            loss = (model(xt, t) - noise).square().mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            with torch.no_grad():
                for avg, new in zip(self.denoiser.parameters(), model.parameters(), strict=True):
                    avg.lerp_(new, 1 - opt.ema)
            losses.append(float(loss.detach()))
        tail = losses[-max(1, len(losses) // 10) :]
        self.info = {"final_loss": sum(tail) / len(tail), "steps": len(losses)}

    def _sample_whitened(self, n: int, generator: torch.Generator | None) -> Tensor:
        """Ancestral sampling through the clipped clean-code estimate, with the posterior
        q(x_{t-1} | x_t, x_0) (Ho et al., eqs. 6-7 and 15)."""
        x = torch.randn(n, self.dim, generator=generator)
        for step in reversed(range(self.options.timesteps)):
            beta = float(self.betas[step])
            ab = float(self.alpha_bar[step])
            ab_prev = float(self.alpha_bar[step - 1]) if step > 0 else 1.0
            eps = self.denoiser(x, torch.full((n,), step, dtype=torch.long))  # (n, D)
            x0 = ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(
                -self.options.clip, self.options.clip
            )
            x = (
                math.sqrt(ab_prev) * beta / (1 - ab) * x0
                + math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab) * x
            )  # the posterior mean
            if step > 0:
                variance = beta * (1 - ab_prev) / (1 - ab)
                x = x + math.sqrt(variance) * torch.randn(x.shape, generator=generator)
        return x  # (n, D), whitened
