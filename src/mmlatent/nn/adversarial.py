"""The pieces of adversarial training that any GAN shares: its losses, the gradient penalty,
spectral norm and the moving average of a generator's weights.

Pure functions of discriminator logits (B,) -> a scalar, so each is tested against its formula
on fixed logits. A loss is looked up by name (:func:`adversarial_loss`); it declares whether it
needs the gradient penalty, so no caller tests a loss's name.

- ``non-saturating``: the GAN min-max game (Goodfellow et al., "Generative Adversarial Nets",
  NeurIPS 2014) in the form its paper trains: the discriminator minimises
  softplus(-D(x)) + softplus(D(G(z))) (binary cross-entropy on logits), the generator
  softplus(-D(G(z))) instead of -softplus(D(G(z))), whose gradient vanishes when D wins.
- ``hinge``: D minimises relu(1 - D(x)) + relu(1 + D(G(z))), G minimises -D(G(z)) (Lim & Ye,
  "Geometric GAN", 2017; the loss of SNGAN and BigGAN).
- ``wgan-gp``: a critic minimises D(G(z)) - D(x) plus the gradient penalty, G minimises
  -D(G(z)) (Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call


@dataclass(frozen=True)
class AdversarialLoss:
    """One GAN objective: what each player minimises, batch means of (B,) logits."""

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    """(real logits, fake logits) -> the discriminator's loss."""
    generator: Callable[[Tensor], Tensor]
    """fake logits -> the generator's loss."""
    gradient_penalty: bool = False
    """The discriminator's loss needs the gradient penalty (WGAN-GP) added."""


def _ns_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _hinge_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def _wasserstein_discriminator(real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def _ns_generator(fake: Tensor) -> Tensor:
    return F.softplus(-fake).mean()


def _linear_generator(fake: Tensor) -> Tensor:
    return -fake.mean()


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    loss.name: loss
    for loss in (
        AdversarialLoss("non-saturating", _ns_discriminator, _ns_generator),
        AdversarialLoss("hinge", _hinge_discriminator, _linear_generator),
        AdversarialLoss(
            "wgan-gp", _wasserstein_discriminator, _linear_generator, gradient_penalty=True
        ),
    )
}


def adversarial_loss(name: str) -> AdversarialLoss:
    """The GAN loss ``name``; an unknown name lists the known ones."""
    try:
        return ADVERSARIAL_LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown GAN loss {name!r}; choose one of: {', '.join(ADVERSARIAL_LOSSES)}"
        ) from None


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] at random points x_hat between real and fake rows
    (Gulrajani et al. 2017, eq. 3); ``critic`` maps (B, ...) to (B,) logits.

    It runs in float32 with autocast off: the input gradient is taken with ``autograd.grad``,
    which a mixed-precision loss scaler never sees, so in float16 it could underflow (PyTorch's
    AMP examples, "Gradient penalty").
    https://pytorch.org/docs/stable/notes/amp_examples.html#gradient-penalty
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must share a shape, got {real.shape} and {fake.shape}")
    shape = (len(real),) + (1,) * (real.dim() - 1)  # one mixing weight per row
    alpha = torch.rand(shape, generator=generator, dtype=torch.float32).to(real.device)
    with torch.autocast(real.device.type, enabled=False):
        mixed = (alpha * real.float() + (1 - alpha) * fake.float()).detach().requires_grad_()
        scores = critic(mixed).float()
        (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
        norms = grads.reshape(len(grads), -1).norm(2, dim=1)  # (B,)
        return (norms - 1.0).pow(2).mean()


def through_frozen(module: nn.Module, *inputs: Tensor) -> Tensor:
    """``module(*inputs)`` through detached copies of its parameters: the gradient reaches the
    inputs (a generator's, an encoder's) and never the module (their discriminator). Added to the
    discriminator's own loss on detached inputs, one optimiser step then trains both players,
    the same as alternating their steps."""
    frozen = {name: p.detach() for name, p in module.named_parameters()}
    return functional_call(module, frozen, inputs)


def spectral_normed(module: nn.Module) -> nn.Module:
    """``module`` with spectral norm on the weight of every linear and conv layer in it, so each
    is 1-Lipschitz (Miyato et al., "Spectral Normalization for GANs", ICLR 2018).

    The hook-based form, not ``nn.utils.parametrizations``: a parametrized module cannot be
    pickled, and DDP's spawn start method pickles the whole training system to each process.
    """
    layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)
    for layer in [m for m in module.modules() if isinstance(m, layers)]:
        nn.utils.spectral_norm(layer)
    return module


def ramped_decay(decay: float, updates: int) -> float:
    """The moving average's decay after ``updates`` updates: min(decay, (1 + k) / (10 + k)), so
    an average is not stuck near the initial weights early on (TensorFlow's
    ``ExponentialMovingAverage(num_updates=)``)."""
    return min(decay, (1 + updates) / (10 + updates))


@torch.no_grad()
def update_average(average: nn.Module, current: nn.Module, decay: float) -> None:
    """``average <- decay * average + (1 - decay) * current`` for every floating parameter;
    buffers (BatchNorm statistics, spectral-norm vectors) are copied (Karras et al., "Progressive
    Growing of GANs", ICLR 2018, sample from such an average of the generator)."""
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be in [0, 1), got {decay}")
    for p_avg, p_cur in zip(average.parameters(), current.parameters(), strict=True):
        p_avg.lerp_(p_cur.detach(), 1.0 - decay)
    for b_avg, b_cur in zip(average.buffers(), current.buffers(), strict=True):
        b_avg.copy_(b_cur)
