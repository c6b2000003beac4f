"""Every latent sampler: shapes, seeding, recovery of a known mixture, typed options."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmlatent.registry import SAMPLERS
from mmlatent.samplers import build_sampler

FAST = {
    "gmm": {"max_components": 5},
    "latent-gan": {"steps": 150, "hidden_dim": 32, "depth": 2, "batch_size": 128},
    "latent-diffusion": {"steps": 150, "hidden_dim": 32, "timesteps": 20, "batch_size": 128},
}
"""Options that fit in a second or two: enough for shapes and seeding, not for quality."""

RECOVERING = {
    "gmm": {"max_components": 5},
    "latent-gan": {"steps": 3000, "hidden_dim": 128},
    "latent-diffusion": {"steps": 3000, "hidden_dim": 128, "timesteps": 50},
}
"""Budgets under which each fitted sampler recovers ``mixture_codes`` (the neural ones train
for a few thousand steps: marked slow)."""

NEAR_SHARE = {"latent-gan": 0.75}
"""The GAN's generator maps unimodal noise continuously, so some of its mass (about a fifth at
3,000 steps) bridges the clusters; the others keep over 90% near a centre."""

CENTRES = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])


def mixture_codes(n_per: int = 300, spread: float = 0.5, seed: int = 0) -> torch.Tensor:
    """Codes from three equally likely Gaussians around ``CENTRES``."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([c + spread * torch.randn(n_per, 2, generator=g) for c in CENTRES])


def fitted(name: str, options: dict | None = None, codes: torch.Tensor | None = None):
    codes = mixture_codes() if codes is None else codes
    options = FAST.get(name, {}) if options is None else options
    return build_sampler(name, **options).fit(codes, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_every_sampler_draws_seeded_codes_of_the_right_shape(name):
    sampler = fitted(name)
    a = sampler.sample(50, generator=torch.Generator().manual_seed(3))
    b = sampler.sample(50, generator=torch.Generator().manual_seed(3))
    c = sampler.sample(50, generator=torch.Generator().manual_seed(4))
    assert a.shape == (50, 2) and a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_fitting_is_seeded_by_the_generator(name):
    draw = torch.Generator().manual_seed(1)
    first = fitted(name).sample(20, generator=draw)
    again = fitted(name).sample(20, generator=draw.manual_seed(1))
    assert torch.equal(first, again)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.slow] if n in ("latent-gan", "latent-diffusion") else [])
        for n in SAMPLERS.names()
        if n in RECOVERING
    ],
)
def test_each_fitted_sampler_recovers_a_known_mixture(name):
    z = fitted(name, RECOVERING[name]).sample(1500, generator=torch.Generator().manual_seed(1))
    distances = torch.cdist(z, CENTRES)  # (1500, 3)
    near = distances.min(dim=1).values < 1.5  # within 3 sd of a centre: 99% of the real codes
    assert near.float().mean() > NEAR_SHARE.get(name, 0.9)  # where the codes lie
    nearest = distances[near].argmin(dim=1)
    shares = torch.bincount(nearest, minlength=3).float() / len(nearest)
    means = torch.stack([z[near][nearest == k].mean(dim=0) for k in range(3)])
    assert (shares - 1 / 3).abs().max() < 0.1  # every component, in proportion
    assert (means - CENTRES).norm(dim=1).max() < 0.3  # at the right place


def test_the_prior_ignores_where_the_codes_lie():
    z = fitted("prior").sample(600, generator=torch.Generator().manual_seed(1))
    assert (torch.cdist(z, CENTRES).min(dim=1).values < 1.5).float().mean() < 0.5


def test_gmm_chooses_the_number_of_components_by_bic():
    sampler = fitted("gmm", {"max_components": 6})
    assert sampler.info["n_components"] == 3
    assert min(sampler.info["bic"], key=sampler.info["bic"].get) == 3
    assert fitted("gmm", {"n_components": 5}).info["n_components"] == 5


def test_gmm_diag_and_fewer_codes_than_components():
    diag = fitted("gmm", {"max_components": 4, "covariance_type": "diag"})
    assert diag.covariances.shape == (diag.info["n_components"], 2)
    few = fitted("gmm", {"n_components": 10}, codes=mixture_codes(n_per=2))  # 6 codes
    assert few.info["n_components"] == 6 and torch.isfinite(few.sample(5)).all()


def test_bad_codes_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        build_sampler("prior").fit(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        build_sampler("prior").fit(torch.zeros(5))
    with pytest.raises(ValueError, match="unknown sampler"):
        build_sampler("nope")


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("gmm", {"max_components": "many"}, "max_components"),
        ("gmm", {"covariance_type": "spherical"}, "covariance_type"),
        ("gmm", {"min_components": 5, "max_components": 2}, "min_components"),
        ("latent-diffusion", {"schedule": "quadratic"}, "schedule"),
        ("latent-diffusion", {"steps": 0}, "steps"),
        ("latent-gan", {"lr": -1.0}, "lr"),
        ("latent-gan", {"learning_rate": 1e-3}, "learning_rate"),
        ("prior", {"scale": 2}, "scale"),
    ],
)
def test_bad_options_are_refused_naming_the_option(name, options, field):
    with pytest.raises(ValueError, match=field):
        build_sampler(name, **options)


# --- temperature -------------------------------------------------------------------------------
LINEAR = ("prior", "gmm")
"""Samplers whose temperature moves each code along a straight line from its centre (the
chosen component's mean, the prior's mode) to its plain draw."""


def seeded(sampler, n: int, seed: int, **kwargs) -> torch.Tensor:
    return sampler.sample(n, generator=torch.Generator().manual_seed(seed), **kwargs)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_temperature_one_is_the_plain_draw_and_bad_ones_are_refused(name):
    sampler = fitted(name)
    assert torch.equal(seeded(sampler, 40, 2, temperature=1), seeded(sampler, 40, 2))
    assert not torch.equal(seeded(sampler, 40, 2, temperature=0.5), seeded(sampler, 40, 2))
    for bad in (-0.5, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
            sampler.sample(3, temperature=bad)


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_temperature_zero_gives_only_the_samplers_centres(name):
    sampler = fitted(name)
    codes = seeded(sampler, 60, 5, temperature=0)
    assert torch.equal(codes, seeded(sampler, 60, 5, temperature=0))
    centres = torch.unique(codes, dim=0)
    if name == "gmm":  # each code one component's mean, and more than one component drawn
        means = sampler.means.float()
        assert 1 < len(centres) <= len(means)
        assert torch.cdist(centres, means).min(dim=1).values.max() < 1e-6
    else:  # the prior's mode, or the network's image of zero noise: one code for every row
        assert len(centres) == 1


@pytest.mark.parametrize("name", LINEAR)
@settings(max_examples=15, deadline=None)
@given(t=st.floats(0.05, 3.0), seed=st.integers(0, 2**16))
def test_a_linear_samplers_codes_lie_between_its_centres_and_its_draws(name, t, seed):
    sampler = fitted(name)
    centre = seeded(sampler, 30, seed, temperature=0)
    draw = seeded(sampler, 30, seed)
    expected = centre + t * (draw - centre)
    assert torch.allclose(seeded(sampler, 30, seed, temperature=t), expected, atol=1e-5)
