"""A GAN's networks sized from any image-like spec; conditional BatchNorm; the projection."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmlatent.nn.gan import (
    ConditionalBatchNorm2d,
    ConditionEmbedding,
    ConvGenerator,
    Discriminator,
    require_grid,
)
from mmlatent.types import ModalitySpec

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = ModalitySpec(name="text", kind="text", shape=(6,), likelihood="categorical", vocab_size=9)


@FAST
@given(st.sampled_from([1, 3]), st.integers(1, 70), st.integers(1, 70))
def test_generator_and_discriminator_fit_any_grid(channels: int, height: int, width: int) -> None:
    spec = ModalitySpec(
        name="image", kind="image", shape=(channels, height, width), likelihood="bernoulli"
    )
    generator = ConvGenerator(spec.shape, in_dim=5, hidden_dim=16)
    x = generator(torch.randn(3, 5))
    assert x.shape == (3, channels, height, width) and torch.isfinite(x).all()
    logits = Discriminator(spec, 16, spectral_norm=True)(torch.sigmoid(x))
    assert logits.shape == (3,)


def test_log_mel_generator_with_a_condition() -> None:
    spec = ModalitySpec(name="audio", kind="audio", shape=(1, 32, 64), likelihood="laplace")
    generator = ConvGenerator(spec.shape, in_dim=8, hidden_dim=32, condition_dim=4)
    assert generator(torch.randn(2, 8), torch.randn(2, 4)).shape == (2, 1, 32, 64)
    discriminator = Discriminator(spec, 32, condition=TEXT)
    tokens = torch.randint(0, 9, (2, 6))
    assert discriminator(torch.rand(2, 1, 32, 64), tokens).shape == (2,)
    with pytest.raises(ValueError, match="needs a condition"):
        discriminator(torch.rand(2, 1, 32, 64))


def test_conditional_batch_norm_starts_as_batch_norm_and_then_follows_the_condition() -> None:
    torch.manual_seed(0)
    norm, plain = ConditionalBatchNorm2d(4, 3), torch.nn.BatchNorm2d(4, affine=False)
    x, condition = torch.randn(5, 4, 2, 2), torch.randn(5, 3)
    torch.testing.assert_close(norm(x, condition), plain(x))
    torch.nn.init.normal_(norm.gain.weight)
    other = condition.clone()
    other[0] += 1.0
    changed = (norm(x, condition) - norm(x, other)).abs().sum(dim=(1, 2, 3))
    assert changed[0] > 0 and (changed[1:] == 0).all()  # each sample follows its own condition


def test_the_projection_embedding_has_the_norm_of_its_learnt_gain() -> None:
    embedding = ConditionEmbedding(TEXT, 16)
    tokens = torch.randint(0, 9, (7, 6))
    torch.testing.assert_close(embedding(tokens).norm(dim=1), torch.ones(7), atol=0.01, rtol=0)
    with torch.no_grad():
        embedding.gain.fill_(3.0)
    torch.testing.assert_close(
        embedding(tokens).norm(dim=1), torch.full((7,), 3.0), atol=0.03, rtol=0
    )
    discriminator = Discriminator(
        ModalitySpec(name="image", kind="image", shape=(1, 8, 8), likelihood="bernoulli"),
        16,
        condition=TEXT,
        spectral_norm=True,
    )
    assert any(p is discriminator.condition.gain for p in discriminator.parameters())  # D learns it


def test_a_gan_makes_image_like_modalities_only() -> None:
    with pytest.raises(ValueError, match="image-like"):
        require_grid(TEXT)
    vector = ModalitySpec(name="v", kind="vector", shape=(5,), likelihood="gaussian")
    with pytest.raises(ValueError, match="image-like"):
        require_grid(vector)


def test_minibatch_std_lets_the_discriminator_see_a_collapsed_batch() -> None:
    spec = ModalitySpec(name="image", kind="image", shape=(1, 8, 8), likelihood="bernoulli")
    torch.manual_seed(0)
    discriminator = Discriminator(spec, 16, minibatch_std=True)
    features = torch.randn(4, 16)
    spread = discriminator.with_batch_spread(features)[:, -1]
    assert spread.shape == (4,) and (spread == spread[0]).all() and spread[0] > 0
    same = discriminator.with_batch_spread(features[:1].expand(4, -1))[:, -1]
    assert (same == 0).all()  # identical samples: no spread
    x = torch.rand(1, 1, 8, 8)
    alone = discriminator(x)
    assert alone.shape == (1,) and torch.isfinite(alone).all()  # a batch of one is fine
    assert not torch.equal(discriminator(torch.cat([x, x.flip(-1)]))[:1], alone)
