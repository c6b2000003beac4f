"""GAN losses against their formulas on fixed logits; the gradient penalty on known critics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mmlatent.nn.adversarial import (
    ADVERSARIAL_LOSSES,
    adversarial_loss,
    gradient_penalty,
    spectral_normed,
    update_average,
)

REAL = torch.tensor([2.0, -1.0, 0.5, 0.0])
FAKE = torch.tensor([-3.0, 1.5, 0.25, 4.0])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_non_saturating_loss_is_binary_cross_entropy_on_logits() -> None:
    loss = adversarial_loss("non-saturating")
    want_d = _mean([_softplus(-r) for r in REAL.tolist()]) + _mean(
        [_softplus(f) for f in FAKE.tolist()]
    )
    # -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z)))), Goodfellow et al. 2014's discriminator
    bce = -_mean([math.log(1 / (1 + math.exp(-r))) for r in REAL.tolist()]) - _mean(
        [math.log(1 - 1 / (1 + math.exp(-f))) for f in FAKE.tolist()]
    )
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(want_d, rel=1e-6)
    assert want_d == pytest.approx(bce, rel=1e-6)
    # the generator maximises log D(G(z)) instead of minimising log(1 - D(G(z)))
    want_g = -_mean([math.log(1 / (1 + math.exp(-f))) for f in FAKE.tolist()])
    assert loss.generator(FAKE).item() == pytest.approx(want_g, rel=1e-6)
    assert not loss.gradient_penalty


def test_hinge_loss() -> None:
    loss = adversarial_loss("hinge")
    want_d = _mean([max(0.0, 1 - r) for r in REAL.tolist()]) + _mean(
        [max(0.0, 1 + f) for f in FAKE.tolist()]
    )
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(want_d)
    assert loss.generator(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()))
    assert not loss.gradient_penalty


def test_wasserstein_loss_declares_its_penalty() -> None:
    loss = adversarial_loss("wgan-gp")
    want = _mean(FAKE.tolist()) - _mean(REAL.tolist())
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(want)
    assert loss.generator(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()))
    assert loss.gradient_penalty


def test_unknown_loss_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="hinge"):
        adversarial_loss("minimax")
    assert set(ADVERSARIAL_LOSSES) == {"non-saturating", "hinge", "wgan-gp"}


def test_gradient_penalty_of_a_linear_critic_is_its_slope_norm_minus_one_squared() -> None:
    w = torch.tensor([3.0, 4.0])  # |grad| = 5 everywhere
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    penalty = gradient_penalty(lambda x: x @ w, real, fake)
    assert penalty.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_gradient_penalty_of_a_quadratic_critic_at_known_points() -> None:
    # critic |x|^2 / 2 has gradient x: with real == fake the mixed point is x itself
    x = torch.tensor([[0.6, 0.8], [3.0, 4.0], [0.0, 0.5]])  # norms 1, 5, 0.5
    penalty = gradient_penalty(lambda v: 0.5 * v.pow(2).sum(-1), x, x.clone())
    assert penalty.item() == pytest.approx(_mean([0.0, 16.0, 0.25]))


def test_gradient_penalty_is_differentiable_in_the_critic_and_seeded() -> None:
    critic = nn.Linear(3, 1)
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    a = gradient_penalty(lambda v: critic(v).squeeze(-1), real, fake)
    a.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
    draws = [
        gradient_penalty(
            lambda v: (v.pow(3)).sum(-1), real, fake, generator=torch.Generator().manual_seed(4)
        )
        for _ in range(2)
    ]
    assert torch.equal(draws[0], draws[1])


def test_gradient_penalty_needs_matching_shapes() -> None:
    with pytest.raises(ValueError, match="share a shape"):
        gradient_penalty(lambda v: v.sum(-1), torch.zeros(2, 3), torch.zeros(3, 3))


def test_spectral_norm_bounds_every_layer_near_one() -> None:
    torch.manual_seed(0)
    net = spectral_normed(nn.Sequential(nn.Linear(6, 5), nn.SiLU(), nn.Linear(5, 2)))
    for _ in range(30):  # power iterations run in training-mode forwards
        net(torch.randn(4, 6))
    for layer in (net[0], net[2]):
        assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=0.02)


def test_moving_average_moves_toward_the_weights_and_copies_buffers() -> None:
    torch.manual_seed(0)
    current, average = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        current.weight.fill_(3.0)
        average.weight.fill_(1.0)
    current.running_mean.fill_(7.0)
    update_average(average, current, decay=0.75)
    torch.testing.assert_close(average.weight, torch.full((3,), 1.5))  # 0.75 * 1 + 0.25 * 3
    torch.testing.assert_close(average.running_mean, torch.full((3,), 7.0))
    with pytest.raises(ValueError, match="decay"):
        update_average(average, current, decay=1.0)
