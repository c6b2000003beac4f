"""JMVAE-KL: the objective against independent oracles (torch.distributions), inference from
subsets, and the refusal of incomplete rows."""

from typing import Any

import pytest
import torch
from torch import Tensor
from torch.distributions import (
    Bernoulli,
    Categorical,
    Independent,
    Laplace,
    Normal,
    kl_divergence,
)

from mmlatent.models import build_model
from mmlatent.models.jmvae import JMVAE, JMVAEConfig

from .contract import SPECS, full_mask, make_batch

OPTIONS = {"latent_dim": 4, "hidden_dim": 16, "rescale": "none"}


def build(**options: Any) -> JMVAE:
    torch.manual_seed(0)  # the same weights for every call with the same sizes
    model = build_model("jmvae", SPECS, {**OPTIONS, **options})
    assert isinstance(model, JMVAE)
    return model


def normal(mean: Tensor, logvar: Tensor) -> Independent:
    return Independent(Normal(mean, torch.exp(0.5 * logvar)), 1)


def log_likelihood_by_hand(model: JMVAE, z: Tensor, data: dict[str, Tensor]) -> Tensor:
    """sum_m log p(x_m | z) per sample, with torch.distributions (obs_scale 0.75 for real data)."""
    scale = model.config.obs_scale
    image = Independent(Bernoulli(logits=model.decoders["image"](z)), 3)
    audio = Independent(Laplace(model.decoders["audio"](z), scale), 3)
    text = Independent(Categorical(logits=model.decoders["text"](z, data["text"])), 1)
    vector = Independent(Normal(model.decoders["vector"](z), scale), 1)
    return (
        image.log_prob(data["image"])
        + audio.log_prob(data["audio"])
        + text.log_prob(data["text"])
        + vector.log_prob(data["vector"])
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alpha", -0.1),
        ("cross_weight", -1.0),
        ("latent_dim", 0),
        ("beta", -1.0),
        ("latent_loss", "jsd"),
    ],
)
def test_config_validation_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        JMVAEConfig(**{field: value})


def test_registered_with_truthful_capabilities() -> None:
    model = build()
    assert model.registry_name == "jmvae"
    assert not model.capabilities.trains_on_incomplete_rows
    assert model.capabilities.conditions_on_any_subset
    assert "Suzuki" in model.capabilities.paper


def test_alpha_zero_is_the_joint_negative_elbo_computed_by_hand() -> None:
    model = build(alpha=0.0)
    data = make_batch()
    torch.manual_seed(3)
    out = model.loss(data, full_mask(data))
    torch.manual_seed(3)
    eps = torch.randn(8, 4)  # the loss's one draw
    joint = model.joint_encoder(data)
    z = joint.mean + joint.std * eps
    prior = normal(torch.zeros(8, 4), torch.zeros(8, 4))
    kl = kl_divergence(normal(joint.mean, joint.logvar), prior)
    elbo = log_likelihood_by_hand(model, z, data) - kl
    torch.testing.assert_close(out.total, -elbo.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.terms["elbo"], elbo.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.terms["kl"], kl.mean())


def test_alpha_term_is_the_closed_form_kl_from_joint_to_each_unimodal_encoder() -> None:
    data = make_batch()
    mask = full_mask(data)
    base, coupled = build(alpha=0.0), build(alpha=0.5)
    torch.manual_seed(3)
    without = base.loss(data, mask)
    torch.manual_seed(3)
    with_alpha = coupled.loss(data, mask)
    joint = coupled.joint_encoder(data)
    total = torch.zeros(())
    for m in coupled.modalities:
        mean, logvar = coupled.encoders[m](data[m])
        kl = kl_divergence(normal(joint.mean, joint.logvar), normal(mean, logvar)).mean()
        torch.testing.assert_close(with_alpha.terms[f"kl_joint_{m}"], kl)
        total = total + kl
    torch.testing.assert_close(with_alpha.terms["alpha_kl"], total)
    torch.testing.assert_close(with_alpha.total - without.total, 0.5 * total)


def test_only_the_alpha_term_trains_the_unimodal_encoders() -> None:
    data = make_batch()
    for alpha, trained in ((0.0, False), (0.1, True)):
        model = build(alpha=alpha)
        model.loss(data, full_mask(data)).total.backward()
        grads = [p.grad for p in model.encoders.parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads) == trained


def test_cross_term_decodes_every_modality_from_a_draw_of_each_unimodal_encoder() -> None:
    data = make_batch()
    mask = full_mask(data)
    paper, model = build(alpha=0.0), build(alpha=0.0, cross_weight=0.5)
    torch.manual_seed(3)
    without = paper.loss(data, mask)
    torch.manual_seed(3)
    with_cross = model.loss(data, mask)
    torch.manual_seed(3)
    torch.randn(8, 4)  # the joint draw comes first
    eps = torch.randn(len(model.modalities), 8, 4)  # then one draw per unimodal encoder
    by_hand = []
    for i, m in enumerate(model.modalities):
        mean, logvar = model.encoders[m](data[m])
        z = mean + torch.exp(0.5 * logvar) * eps[i]
        by_hand.append(-log_likelihood_by_hand(model, z, data).mean())
    cross = torch.stack(by_hand).mean()
    torch.testing.assert_close(with_cross.terms["cross_rec"], cross, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(with_cross.total - without.total, 0.5 * cross, rtol=1e-5, atol=1e-4)
    assert "cross_rec" not in without.terms


def test_the_cross_term_trains_the_unimodal_encoders_without_alpha() -> None:
    model = build(alpha=0.0, cross_weight=0.1)
    data = make_batch()
    model.loss(data, full_mask(data)).total.backward()
    for m in model.modalities:
        grads = [p.grad for p in model.encoders[m].parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0, m


@pytest.mark.parametrize("latent_loss", ["mmd", "adversarial", "none"])
def test_other_latent_losses_replace_the_prior_kl_and_keep_the_alpha_term(latent_loss: str) -> None:
    data = make_batch()
    mask = full_mask(data)
    torch.manual_seed(3)
    without = build(alpha=0.0, latent_loss=latent_loss).loss(data, mask)
    torch.manual_seed(3)
    with_alpha = build(alpha=2.0, latent_loss=latent_loss).loss(data, mask)
    assert torch.isfinite(with_alpha.total)
    torch.testing.assert_close(
        with_alpha.total - without.total, 2.0 * with_alpha.terms["alpha_kl"], rtol=1e-4, atol=1e-4
    )


def test_encode_uses_the_joint_encoder_only_when_every_modality_is_there() -> None:
    model = build()
    data = make_batch()
    mask = full_mask(data)
    joint = model.joint_encoder(data)
    torch.testing.assert_close(model.encode(data, mask).mean, joint.mean)
    mask["text"][:3] = False  # rows 0-2: image, audio, vector
    got = model.encode(data, mask)
    torch.testing.assert_close(got.mean[3:], joint.mean[3:])
    torch.testing.assert_close(got.logvar[3:], joint.logvar[3:])
    experts = [model.encoders[m](data[m][:3]) for m in ("image", "audio", "vector")]
    precisions = torch.stack([torch.exp(-logvar) for _, logvar in experts])  # no prior expert
    precision = precisions.sum(0)
    mean = (torch.stack([mu for mu, _ in experts]) * precisions).sum(0) / precision
    torch.testing.assert_close(got.mean[:3], mean)
    torch.testing.assert_close(got.logvar[:3], -torch.log(precision))


def test_one_modality_is_inferred_by_its_own_encoder() -> None:
    model = build()
    data = make_batch()
    for m in model.modalities:
        posterior = model.posterior_for_generation({m: data[m]})
        mean, logvar = model.encoders[m](data[m])
        torch.testing.assert_close(posterior.mean, mean)
        torch.testing.assert_close(posterior.logvar, logvar)


def test_generation_given_everything_decodes_the_joint_posterior_mean() -> None:
    model = build()
    data = make_batch(batch=3)
    out = model.generate(given=data, targets=["vector"], temperature=0)
    want = model.decoders["vector"](model.joint_encoder(data).mean)
    torch.testing.assert_close(out["vector"], want)


def test_incomplete_rows_are_refused_by_name() -> None:
    model = build()
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:2] = False
    with pytest.raises(ValueError, match="2 rows lack 'audio'"):
        model.loss(data, mask)
    with pytest.raises(ValueError, match="lack 'text'"):
        model.loss({m: x for m, x in data.items() if m != "text"}, full_mask(data))
