import math

import torch
from torch.distributions import Laplace as TorchLaplace
from torch.distributions import kl_divergence

from mmlatent.latent.laplace import (
    LOGSCALE_MAX,
    LOGSCALE_MIN,
    Laplace,
    standard_laplace_log_prob,
)


def _random_laplace(b: int = 5, d: int = 3) -> Laplace:
    g = torch.Generator().manual_seed(0)
    return Laplace(torch.randn(b, d, generator=g), torch.randn(b, d, generator=g))


def test_log_prob_matches_torch_distributions() -> None:
    q = _random_laplace()
    z = torch.randn(5, 3)
    torch.testing.assert_close(q.log_prob(z), TorchLaplace(q.mean, q.scale).log_prob(z).sum(-1))
    torch.testing.assert_close(
        standard_laplace_log_prob(z), TorchLaplace(0.0, 1.0).log_prob(z).sum(-1)
    )


def test_kl_matches_torch_distributions() -> None:
    q = _random_laplace()
    prior = TorchLaplace(torch.zeros(5, 3), torch.ones(5, 3))
    expected = kl_divergence(TorchLaplace(q.mean, q.scale), prior).sum(-1)
    torch.testing.assert_close(q.kl_standard_laplace(), expected)


def test_from_mean_logvar_has_that_variance() -> None:
    logvar = torch.tensor([[-2.0, 0.0, 3.0]])
    q = Laplace.from_mean_logvar(torch.zeros(1, 3), logvar)
    torch.testing.assert_close(q.var, logvar.exp())
    torch.testing.assert_close(q.var, TorchLaplace(q.mean, q.scale).variance)


def test_rsample_moments_generator_and_gradient() -> None:
    mean = torch.full((40000, 1), 2.0, requires_grad=True)
    q = Laplace(mean, torch.full((40000, 1), math.log(0.5)))
    z = q.rsample(torch.Generator().manual_seed(0))
    torch.testing.assert_close(z, q.rsample(torch.Generator().manual_seed(0)))
    assert abs(z.mean().item() - 2.0) < 0.02
    assert abs(z.var().item() - 0.5) < 0.03  # 2 b^2
    assert abs((z - 2.0).abs().mean().item() - 0.5) < 0.01  # E|z - mu| = b
    z.sum().backward()
    assert mean.grad is not None


def test_extreme_logscale_is_clamped_and_finite() -> None:
    q = Laplace(torch.zeros(2, 2), torch.tensor([[-1e4, 1e4], [0.0, 0.0]]))
    assert q.logscale.min() >= LOGSCALE_MIN and q.logscale.max() <= LOGSCALE_MAX
    assert torch.isfinite(q.kl_standard_laplace()).all()
    assert torch.isfinite(q.log_prob(torch.ones(2, 2))).all()
    assert torch.isfinite(q.rsample()).all()
