"""The model prior: N(0, I) as before, or a learned full-covariance Gaussian whose KL, density
and draws agree with torch.distributions', and which moves to the codes' moments; for MMVAE's
Laplace experts, Laplace(0, 1) or a learned diagonal Laplace."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch.distributions import Laplace as TorchLaplace
from torch.distributions import MultivariateNormal, kl_divergence

from mmlatent.latent import Gaussian, GaussianPrior, LaplacePrior, standard_normal_log_prob
from mmlatent.latent.laplace import LOGSCALE_MAX
from mmlatent.models import build_model
from mmlatent.samplers import build_sampler

from .contract import SPECS, TINY, full_mask, make_batch


def randomised(dim: int, seed: int) -> GaussianPrior:
    prior = GaussianPrior(dim, learned=True)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        prior.mean.copy_(torch.randn(dim, generator=g))
        prior.raw_scale.copy_(0.4 * torch.randn(dim, dim, generator=g))
    return prior


def as_torch(prior: GaussianPrior) -> MultivariateNormal:
    return MultivariateNormal(prior.mean, scale_tril=prior.scale_tril())


def posterior(shape: tuple[int, ...], seed: int) -> Gaussian:
    g = torch.Generator().manual_seed(seed)
    return Gaussian(torch.randn(shape, generator=g), 0.5 * torch.randn(shape, generator=g))


def test_the_standard_prior_is_n01_and_holds_no_state() -> None:
    prior, q = GaussianPrior(4, learned=False), posterior((3, 4), 0)
    torch.testing.assert_close(prior.kl(q), q.kl_standard_normal())
    torch.testing.assert_close(prior.log_prob(q.mean), standard_normal_log_prob(q.mean))
    assert prior.state_dict() == {}  # checkpoints of before the option load as they were


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learned_kl_and_density_match_torch_distributions(seed: int) -> None:
    prior, q = randomised(5, seed), posterior((2, 3, 5), seed + 10)  # batch dims broadcast
    reference = kl_divergence(
        MultivariateNormal(q.mean, scale_tril=torch.diag_embed(q.std)), as_torch(prior)
    )
    torch.testing.assert_close(prior.kl(q), reference, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(prior.log_prob(q.mean), as_torch(prior).log_prob(q.mean))


def test_a_new_learned_prior_is_n01() -> None:
    prior, q = GaussianPrior(4, learned=True), posterior((6, 4), 3)
    torch.testing.assert_close(prior.kl(q), q.kl_standard_normal())


def test_draws_have_the_priors_mean_and_covariance() -> None:
    prior = randomised(3, 4)
    draws = prior.sample(40_000, generator=torch.Generator().manual_seed(0)).detach()
    scale = prior.scale_tril().detach()
    torch.testing.assert_close(draws.mean(0), prior.mean.detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(torch.cov(draws.T), scale @ scale.T, atol=0.1, rtol=0.05)


def test_minimising_the_kl_moves_the_prior_to_the_codes_moments() -> None:
    """For fixed posteriors the best Gaussian prior is the aggregate posterior's moment match:
    the reason a learned prior's draws land where the codes are."""
    g = torch.Generator().manual_seed(0)
    mixing = torch.tensor([[2.0, 0.0], [1.5, 0.5]])
    means = torch.randn(2000, 2, generator=g) @ mixing.T + torch.tensor([3.0, -1.0])
    q = Gaussian(means, torch.full_like(means, -2.0))  # correlated codes, away from the origin
    prior = GaussianPrior(2, learned=True)
    optimiser = torch.optim.Adam(prior.parameters(), lr=0.05)
    for _ in range(600):
        optimiser.zero_grad()
        prior.kl(q).mean().backward()
        optimiser.step()
    scale = prior.scale_tril().detach()
    aggregate = torch.cov(means.T) + torch.diag(q.var.mean(0))
    torch.testing.assert_close(prior.mean.detach(), means.mean(0), atol=0.02, rtol=0)
    torch.testing.assert_close(scale @ scale.T, aggregate, atol=0.05, rtol=0.02)


def learned_mopoe(**extra: object) -> Any:
    model = build_model("mopoe", SPECS, {**TINY, "prior": "learned", **extra})
    with torch.no_grad():
        model.prior.mean.fill_(4.0)
    return model


def test_generation_and_the_prior_sampler_draw_from_the_learned_prior() -> None:
    model = learned_mopoe()
    torch.testing.assert_close(
        model.prior_draw(5, temperature=0), torch.full((5, model.latent_dim), 4.0)
    )
    sampler = build_sampler("prior").fit(torch.zeros(1, model.latent_dim))
    assert sampler.sample(2000).mean().abs() < 0.1  # unbound: N(0, I)
    sampler.bind_model(model)
    draws = sampler.sample(2000, generator=torch.Generator().manual_seed(0))
    assert abs(draws.mean().item() - 4.0) < 0.1
    again = sampler.sample(2000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws, again)  # seeded through the caller's generator


def test_the_prior_trains_with_the_model() -> None:
    model = learned_mopoe()
    data = make_batch()
    model.loss(data, full_mask(data)).total.backward()
    assert model.prior.mean.grad is not None and model.prior.mean.grad.abs().sum() > 0
    assert model.prior.raw_scale.grad is not None


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("mopoe", {"latent_loss": "mmd"}, "prior"),
        ("mmvae", {"latent_loss": "adversarial"}, "prior"),
    ],
)
def test_a_learned_prior_refuses_what_it_cannot_go_with(
    name: str, options: dict, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        build_model(name, SPECS, {**TINY, "prior": "learned", **options})


# -- the Laplace prior of MMVAE's Laplace experts ---------------------------------------------


def randomised_laplace(dim: int, seed: int) -> LaplacePrior:
    prior = LaplacePrior(dim, learned=True)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        prior.mean.copy_(torch.randn(dim, generator=g))
        prior.logscale.copy_(0.5 * torch.randn(dim, generator=g))
    return prior


def test_the_fixed_laplace_prior_is_laplace01_and_holds_no_state() -> None:
    prior, z = LaplacePrior(4, learned=False), torch.randn(3, 4)
    torch.testing.assert_close(prior.log_prob(z), TorchLaplace(0.0, 1.0).log_prob(z).sum(-1))
    torch.testing.assert_close(prior.mode(2), torch.zeros(2, 4))
    assert prior.state_dict() == {}
    new = LaplacePrior(4, learned=True)  # a new learned one starts at Laplace(0, 1)
    torch.testing.assert_close(new.log_prob(z), prior.log_prob(z))


@pytest.mark.parametrize("seed", [0, 1])
def test_learned_laplace_density_and_draws_match_torch_distributions(seed: int) -> None:
    prior = randomised_laplace(3, seed)
    reference = TorchLaplace(prior.mean.detach(), prior.logscale.detach().exp())
    z = 3 * torch.randn(2, 5, 3)  # batch dims broadcast
    torch.testing.assert_close(prior.log_prob(z), reference.log_prob(z).sum(-1))
    draws = prior.sample(40_000, generator=torch.Generator().manual_seed(seed)).detach()
    torch.testing.assert_close(draws.median(0).values, reference.mean, atol=0.05, rtol=0)
    torch.testing.assert_close(draws.var(0), reference.variance, atol=0.1, rtol=0.05)
    again = prior.sample(5, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(again, draws[:5])  # seeded through the caller's generator


def test_a_learned_laplace_scale_stays_within_the_posteriors_bounds() -> None:
    prior = LaplacePrior(2, learned=True)
    with torch.no_grad():
        prior.logscale.fill_(1e4)
    assert torch.isfinite(prior.sample(100)).all()
    assert torch.isfinite(prior.log_prob(torch.zeros(1, 2))).all()
    torch.testing.assert_close(
        prior.log_prob(torch.zeros(2)), torch.tensor(-2 * (LOGSCALE_MAX + math.log(2.0)))
    )


def test_mmvae_with_laplace_experts_learns_a_laplace_prior() -> None:
    model = build_model("mmvae", SPECS, {**TINY, "posterior": "laplace", "prior": "learned"})
    assert isinstance(model.prior, LaplacePrior)
    data = make_batch()
    model.loss(data, full_mask(data)).total.backward()
    assert model.prior.mean.grad is not None and model.prior.mean.grad.abs().sum() > 0
    assert model.prior.logscale.grad is not None and model.prior.logscale.grad.abs().sum() > 0
    with torch.no_grad():
        model.prior.mean.fill_(-3.0)
    draws = model.prior_draw(4000)
    assert abs(draws.median().item() + 3.0) < 0.1
    torch.testing.assert_close(
        model.prior_draw(2, temperature=0), torch.full((2, model.latent_dim), -3.0)
    )
    with pytest.raises(TypeError, match="Gaussian prior"):
        model.prior_kl(Gaussian(torch.zeros(1, model.latent_dim), torch.zeros(1, model.latent_dim)))
