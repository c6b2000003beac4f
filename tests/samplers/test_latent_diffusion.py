"""The latent diffusion's reverse chain and parametrisations, checked against a denoiser whose
exact answer is known: for codes drawn from N(0, I), E[eps | x_t] = sqrt(1 - abar_t) x_t."""

from __future__ import annotations

import math

import pytest
import torch
from test_samplers import FAST, fitted
from torch import Tensor, nn

from mmlatent.samplers import load_sampler
from mmlatent.samplers.latent_diffusion import PREDICTIONS, LatentDiffusionSampler
from mmlatent.samplers.neural import whitening


class ExactGaussianDenoiser(nn.Module):
    """The best possible output for unit-Gaussian codes, in any of the three parametrisations."""

    def __init__(self, alpha_bar: Tensor, prediction: str) -> None:
        super().__init__()
        self.alpha_bar, self.prediction = alpha_bar, prediction

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        ab = self.alpha_bar[t].float()[:, None]  # (B, 1)
        eps, x0 = (1 - ab).sqrt() * x, ab.sqrt() * x  # posterior means of the noise and the code
        return {"eps": eps, "x0": x0, "v": ab.sqrt() * eps - (1 - ab).sqrt() * x0}[self.prediction]


def gaussian_sampler(prediction: str, **options) -> LatentDiffusionSampler:
    options = {"timesteps": 50, "clip": 50.0} | options
    sampler = LatentDiffusionSampler(prediction=prediction, **options)
    sampler.dim = 4
    sampler._build()
    sampler.denoiser = ExactGaussianDenoiser(sampler.alpha_bar, prediction)
    sampler.shift, sampler.scale = torch.zeros(4), torch.ones(4)
    return sampler


@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("eta", [1.0, 0.5, 0.0])
def test_with_the_exact_denoiser_the_full_chain_draws_the_codes_distribution(prediction, eta):
    # 1,000 steps: a coarser chain shrinks the variance by its discretisation alone (DDIM with
    # 10 steps keeps 0.76 of it, ancestral with 50 steps 0.91), which is no error of the code
    sampler = gaussian_sampler(prediction, eta=eta, timesteps=1000)
    z = sampler.sample(10000, generator=torch.Generator().manual_seed(0))  # (10000, 4)
    assert z.mean(dim=0).abs().max() < 0.05
    assert (z.var(dim=0) - 1).abs().max() < 0.05  # a wrong coefficient shrinks or inflates it


def test_the_three_parametrisations_give_the_same_chain():
    draws = [
        gaussian_sampler(p, eta=0.5, sample_steps=7).sample(
            100, generator=torch.Generator().manual_seed(0)
        )
        for p in PREDICTIONS
    ]
    assert all(torch.allclose(draws[0], other, atol=1e-4) for other in draws[1:])


def test_the_clip_bounds_every_clean_code_estimate():
    sampler = gaussian_sampler("x0", clip=0.5, eta=0.0)
    z = sampler.sample(2000, generator=torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5 + 1e-6  # the last step returns the clipped estimate itself
    assert math.isclose(float(z.abs().max()), 0.5, rel_tol=1e-5)  # and the clip is reached


def test_whitening_maps_codes_to_unit_scale_and_samples_back():
    g = torch.Generator().manual_seed(0)
    spread = torch.tensor([0.01, 5.0, 300.0], dtype=torch.float64)
    codes = torch.randn(500, 3, generator=g, dtype=torch.float64) * spread + 1000
    shift, scale = whitening(codes)
    white = (codes - shift.double()) / scale.double()  # as the sampler whitens, in float64
    # the float32 shift is 1000 to within 3e-5, a third of a whitened percent at spread 0.01
    assert torch.allclose(white.mean(dim=0), torch.zeros(3, dtype=torch.float64), atol=1e-2)
    assert torch.allclose(white.std(dim=0), torch.ones(3, dtype=torch.float64), atol=1e-3)
    sampler = fitted("latent-diffusion", codes=codes)  # a poor fit (FAST) but on the codes' scale
    z = sampler.sample(500, generator=torch.Generator().manual_seed(0))
    assert ((z.mean(dim=0) - codes.mean(dim=0).float()).abs() < codes.std(dim=0).float()).all()


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_every_prediction_target_reloads_to_identical_draws(prediction, tmp_path):
    options = FAST["latent-diffusion"] | {"prediction": prediction, "sample_steps": 7, "eta": 0.5}
    sampler = fitted("latent-diffusion", options)
    loaded = load_sampler(sampler.save(tmp_path / "d.safetensors"))
    assert loaded.options == sampler.options
    draw = torch.Generator().manual_seed(5)
    assert torch.equal(
        loaded.sample(32, generator=draw), sampler.sample(32, generator=draw.manual_seed(5))
    )
