import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from mmlatent.latent import LOGVAR_MAX, LOGVAR_MIN, Gaussian, standard_normal_log_prob


def _random_gaussian(b: int = 5, d: int = 3) -> Gaussian:
    g = torch.Generator().manual_seed(0)
    return Gaussian(torch.randn(b, d, generator=g), torch.randn(b, d, generator=g))


def test_kl_matches_torch_distributions() -> None:
    q = _random_gaussian()
    expected = kl_divergence(Normal(q.mean, q.std), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(q.kl_standard_normal(), expected)


def test_log_prob_matches_torch_distributions() -> None:
    q = _random_gaussian()
    z = torch.randn(5, 3)
    torch.testing.assert_close(q.log_prob(z), Normal(q.mean, q.std).log_prob(z).sum(-1))


def test_rsample_uses_generator_and_is_differentiable() -> None:
    mean = torch.zeros(4, 2, requires_grad=True)
    q = Gaussian(mean, torch.zeros(4, 2))
    a = q.rsample(torch.Generator().manual_seed(1))
    b = q.rsample(torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    a.sum().backward()
    assert mean.grad is not None


def test_rsample_moments() -> None:
    q = Gaussian(torch.full((20000, 1), 2.0), torch.full((20000, 1), math.log(0.25)))
    z = q.rsample(torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 2.0) < 0.02
    assert abs(z.std().item() - 0.5) < 0.02


def test_extreme_logvar_is_clamped_and_finite() -> None:
    q = Gaussian(torch.zeros(2, 2), torch.tensor([[-1e4, 1e4], [0.0, 0.0]]))
    assert q.logvar.min() >= LOGVAR_MIN and q.logvar.max() <= LOGVAR_MAX
    assert torch.isfinite(q.kl_standard_normal()).all()
    assert torch.isfinite(q.log_prob(torch.zeros(2, 2))).all()


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="differ"):
        Gaussian(torch.zeros(2, 3), torch.zeros(2, 4))


def test_kl_between_gaussians_matches_torch() -> None:
    q, p = _random_gaussian(), Gaussian(torch.randn(5, 3), torch.randn(5, 3))
    want = kl_divergence(Normal(q.mean, q.std), Normal(p.mean, p.std)).sum(-1)
    torch.testing.assert_close(q.kl(p), want)
    torch.testing.assert_close(
        q.kl(Gaussian(torch.zeros(5, 3), torch.zeros(5, 3))), q.kl_standard_normal()
    )


def test_standard_normal_log_prob_matches_torch() -> None:
    z = torch.randn(4, 3)
    torch.testing.assert_close(standard_normal_log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))
