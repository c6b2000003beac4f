import pytest
import torch

from mmlatent.registry import SAMPLERS
from mmlatent.samplers import build_sampler


def clustered_codes(n_per=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    return torch.cat([c + 0.3 * torch.randn(n_per, 2, generator=g) for c in centres]), centres


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_every_sampler_fits_and_samples_the_right_shape(name):
    codes, _ = clustered_codes()
    z = build_sampler(name).fit(codes).sample(50, generator=torch.Generator().manual_seed(0))
    assert z.shape == (50, 2) and z.dtype == torch.float32 and torch.isfinite(z).all()


def test_gmm_samples_lie_where_the_codes_are_and_prior_does_not():
    codes, centres = clustered_codes()
    gmm = build_sampler("gmm", n_components=3).fit(codes)
    z = gmm.sample(600, generator=torch.Generator().manual_seed(1))
    nearest = torch.cdist(z, centres).min(dim=1).values
    assert (nearest < 1.5).float().mean() > 0.97
    prior = (
        build_sampler("prior").fit(codes).sample(600, generator=torch.Generator().manual_seed(1))
    )
    assert (torch.cdist(prior, centres).min(dim=1).values < 1.5).float().mean() < 0.5


def test_sampling_is_seeded():
    codes, _ = clustered_codes()
    gmm = build_sampler("gmm", n_components=3).fit(codes)
    a = gmm.sample(10, generator=torch.Generator().manual_seed(3))
    b = gmm.sample(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_bad_codes_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        build_sampler("prior").fit(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        build_sampler("prior").fit(torch.zeros(5))
    with pytest.raises(ValueError, match="unknown sampler"):
        build_sampler("nope")


def test_gmm_on_fewer_codes_than_components_uses_fewer_components():
    codes, _ = clustered_codes(n_per=2)  # 6 codes
    z = build_sampler("gmm", n_components=10).fit(codes).sample(5)
    assert z.shape == (5, 2) and torch.isfinite(z).all()
