from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Laplace, Normal

from mmlatent.models import build_model
from mmlatent.models.mmvae import MMVAE, MMVAEConfig

from .contract import SPECS, full_mask, make_batch, with_placeholders

TINY = {"latent_dim": 4, "hidden_dim": 16}
PAIR = ["image", "vector"]


def _model(names: list[str], **options: Any) -> MMVAE:
    torch.manual_seed(0)
    model = build_model("mmvae", {m: SPECS[m] for m in names}, TINY | options)
    assert isinstance(model, MMVAE)
    return model


def _twin(model: MMVAE, **options: Any) -> MMVAE:
    """The same weights under other options."""
    twin = _model(model.modalities, **(model.config_dict() | options))
    twin.load_state_dict(model.state_dict())
    return twin


def _seeded_loss(model: MMVAE, data: dict, mask: dict, seed: int = 1) -> Any:
    torch.manual_seed(seed)
    return model.loss(data, mask)


def _pair_batch(batch: int = 8) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    data = {m: x for m, x in make_batch(batch=batch).items() if m in PAIR}
    mask = full_mask(data)
    mask["vector"][batch - 3 :] = False
    return data, mask


@pytest.mark.parametrize(
    ("field", "value", "extra"),
    [
        ("estimator", "vimco", {}),
        ("k", 0, {}),
        ("posterior", "student", {}),
        ("estimator", "iwae", {"latent_loss": "mmd"}),
        ("estimator", "dreg", {"latent_loss": "none"}),
        ("posterior", "laplace", {"latent_loss": "adversarial"}),
        ("latent_dim", 0, {}),
    ],
)
def test_config_validation_names_the_field(field: str, value: object, extra: dict) -> None:
    with pytest.raises(ValueError, match=field):
        MMVAEConfig(**{field: value}, **extra)


def test_registered_with_truthful_capabilities() -> None:
    model = _model(list(SPECS))
    assert model.registry_name == "mmvae"
    assert model.capabilities.fusion == "mixture of experts"
    assert "Shi" in model.capabilities.paper


def test_stratified_elbo_by_hand() -> None:
    """K = 1: each present expert draws z_m; log w = sum_j log p(x_j|z_m) + log p(z_m)
    - log mean_j q_j(z_m); the loss averages -log w over each row's present strata."""
    model = _model(PAIR, rescale="none")
    data, mask = _pair_batch()
    out = _seeded_loss(model, data, mask)

    torch.manual_seed(1)
    eps = torch.randn(1, 8, 2, 4)[0]  # (B, M, D), the model's draw for every expert
    experts = [
        Normal(mu, (0.5 * lv).exp()) for mu, lv in (model.encoders[m](data[m]) for m in PAIR)
    ]
    has_vector = mask["vector"]
    strata = []
    for i in range(2):
        z = experts[i].loc + experts[i].scale * eps[:, i]
        log_q_each = torch.stack([q.log_prob(z).sum(-1) for q in experts], dim=-1)  # (B, 2)
        log_q = torch.where(
            has_vector, log_q_each.logsumexp(-1) - torch.tensor(2.0).log(), log_q_each[:, 0]
        )
        image_ll = -F.binary_cross_entropy_with_logits(
            model.decoders["image"](z), data["image"], reduction="none"
        ).sum((1, 2, 3))
        vector_ll = Normal(model.decoders["vector"](z), model.config.obs_scale).log_prob(
            data["vector"]
        )
        ll = image_ll + torch.where(has_vector, vector_ll.sum(-1), 0.0)
        strata.append(ll + Normal(0.0, 1.0).log_prob(z).sum(-1) - log_q)
    elbo = torch.where(has_vector, (strata[0] + strata[1]) / 2, strata[0])
    torch.testing.assert_close(out.total, -elbo.mean())
    torch.testing.assert_close(out.terms["elbo"], elbo.mean())


def test_iwae_with_one_draw_is_the_elbo() -> None:
    elbo = _model(list(SPECS), k=1, estimator="elbo")
    data = make_batch()
    mask = full_mask(data)
    mask["text"][:3] = False
    for estimator in ("iwae", "dreg"):
        a = _seeded_loss(elbo, data, mask)
        b = _seeded_loss(_twin(elbo, estimator=estimator), data, mask)
        torch.testing.assert_close(a.total, b.total)
        torch.testing.assert_close(a.terms["elbo"], b.terms["elbo"])
        torch.testing.assert_close(a.terms["kl"], b.terms["kl"])


def test_iwae_bound_is_above_the_elbo_and_tightens_with_k() -> None:
    data, mask = _pair_batch(batch=32)
    iwae = _model(PAIR, k=16, estimator="iwae")
    elbo = _twin(iwae, estimator="elbo")
    one_draw = _twin(iwae, k=1)
    bounds: dict[str, list[float]] = {"iwae": [], "elbo": [], "k1": []}
    for seed in range(4):
        bounds["iwae"].append(_seeded_loss(iwae, data, mask, seed).terms["elbo"].item())
        bounds["elbo"].append(_seeded_loss(elbo, data, mask, seed).terms["elbo"].item())
        bounds["k1"].append(_seeded_loss(one_draw, data, mask, seed).terms["elbo"].item())
    # Same draws: log-mean-exp >= mean of the log weights (Jensen), seed by seed.
    assert all(i >= e for i, e in zip(bounds["iwae"], bounds["elbo"], strict=True))
    assert sum(bounds["iwae"]) > sum(bounds["k1"])  # K = 16 is tighter than K = 1


def _grads(model: MMVAE, part: str) -> Tensor:
    return torch.cat(
        [
            p.grad.flatten()
            for n, p in model.named_parameters()
            if n.startswith(part) and p.grad is not None
        ]
    )


def test_dreg_has_the_iwae_value_but_other_encoder_gradients() -> None:
    data, mask = _pair_batch()
    iwae = _model(PAIR, k=4, estimator="iwae")
    dreg = _twin(iwae, estimator="dreg")
    a, b = _seeded_loss(iwae, data, mask), _seeded_loss(dreg, data, mask)
    torch.testing.assert_close(a.total, b.total)
    a.total.backward()
    b.total.backward()
    # Decoders: the IWAE gradient either way (up to summation order).
    torch.testing.assert_close(
        _grads(iwae, "decoders"), _grads(dreg, "decoders"), rtol=1e-3, atol=1e-4
    )
    encoders = _grads(iwae, "encoders"), _grads(dreg, "encoders")
    assert (encoders[0] - encoders[1]).norm() > 0.05 * encoders[0].norm()


def test_dreg_encoder_gradient_uses_squared_normalised_weights() -> None:
    """Oracle: d/dphi of sum_k w~_k^2 log w_k through z alone (Tucker et al. 2019)."""
    data, mask = _pair_batch()
    model = _model(PAIR, k=3, estimator="dreg")
    _seeded_loss(model, data, mask).total.backward()
    got = _grads(model, "encoders")

    torch.manual_seed(1)
    present = model.present(data, mask)
    mean, logvar = model.experts(data, present)
    z = model.stratified_draws(mean, logvar)  # (K, B, M, D)
    leaf = z.detach().requires_grad_()
    log_w = (
        model.weighted_loglik(model.cross_logliks(leaf, data, present)[0])
        + model.prior_log_prob(leaf)
        - model.mixture_log_prob(leaf, mean.detach(), logvar.detach(), present)
    )  # (K, B, M); each entry depends on its own code only (no batch statistics)
    (d_log_w,) = torch.autograd.grad(log_w.sum(), leaf)
    squared = torch.softmax(log_w.detach(), dim=0).pow(2)
    strata = present / present.sum(-1, keepdim=True)  # (B, M)
    upstream = -(squared * strata).unsqueeze(-1) * d_log_w / len(present)
    params = [p for n, p in model.named_parameters() if n.startswith("encoders")]
    expected = torch.autograd.grad(z, params, grad_outputs=upstream, allow_unused=True)
    want = torch.cat(
        [
            (g if g is not None else torch.zeros_like(p)).flatten()
            for g, p in zip(expected, params, strict=True)
            if p.grad is not None
        ]
    )
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_laplace_mixture_density_matches_torch() -> None:
    model = _model(PAIR, posterior="laplace")
    data, mask = _pair_batch()
    present = model.present(data, mask)
    mean, logvar = model.experts(data, present)  # (B, M, D)
    z = torch.randn(2, 8, 2, 4)  # (K, B, M, D)
    scale = (0.5 * logvar).exp() / 2**0.5  # variance 2 b^2 = exp(logvar)
    each = Laplace(mean.unsqueeze(1), scale.unsqueeze(1)).log_prob(z.unsqueeze(-2)).sum(-1)
    expected = torch.where(
        mask["vector"].view(1, 8, 1),
        each.logsumexp(-1) - torch.tensor(2.0).log(),
        each[..., 0],
    )
    torch.testing.assert_close(model.mixture_log_prob(z, mean, logvar, present), expected)
    torch.testing.assert_close(model.prior_log_prob(z), Laplace(0.0, 1.0).log_prob(z).sum(-1))


@pytest.mark.parametrize("estimator", ["elbo", "iwae", "dreg"])
def test_laplace_posterior_trains_finitely(estimator: str) -> None:
    model = _model(list(SPECS), posterior="laplace", estimator=estimator, k=3)
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:4] = False
    out = model.loss(data, mask)
    assert torch.isfinite(out.total) and all(torch.isfinite(v) for v in out.terms.values())
    out.total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert torch.isfinite(model.generate(5)["image"]).all()


def test_encode_summarises_the_mixture_by_its_moments() -> None:
    model = _model(PAIR)
    data, mask = _pair_batch()
    q = model.encode(data, mask)
    (mu_i, lv_i), (mu_v, lv_v) = (model.encoders[m](data[m]) for m in PAIR)
    mean = (mu_i + mu_v) / 2
    var = ((lv_i.exp() + (mu_i - mean) ** 2) + (lv_v.exp() + (mu_v - mean) ** 2)) / 2
    both = mask["vector"].unsqueeze(-1)
    torch.testing.assert_close(q.mean, torch.where(both, mean, mu_i))
    torch.testing.assert_close(q.var, torch.where(both, var, lv_i.exp()))


def test_generation_draws_one_given_expert_per_row() -> None:
    model = _model(PAIR)
    data, _ = _pair_batch(batch=64)
    torch.manual_seed(0)
    q = model.posterior_for_generation(data)
    experts = torch.stack([model.encoders[m](data[m])[0] for m in PAIR])  # (M, B, D)
    matches = (q.mean.unsqueeze(0) - experts).abs().amax(-1) < 1e-6  # (M, B)
    assert matches.any(0).all()  # every row is one expert's posterior
    assert matches[0].any() and matches[1].any()  # and both experts are chosen
    alone = model.posterior_for_generation({"vector": data["vector"]})
    torch.testing.assert_close(alone.mean, experts[1])


def test_importance_log_likelihood_uses_the_laplace_prior_and_expert() -> None:
    """One present modality: the mixture is its expert; k = 1 is one weight, by hand."""
    model = _model(PAIR, posterior="laplace", rescale="none").eval()
    data, mask = _pair_batch()
    mask["vector"][:] = False
    torch.manual_seed(4)
    got = model.importance_log_likelihood(data, mask, k=1)
    torch.manual_seed(4)
    torch.multinomial(torch.ones(8, 2), 1, replacement=True)  # the component pick
    mu, logvar = model.encoders["image"](data["image"])
    q = Laplace(mu, (0.5 * logvar).exp() / 2**0.5)
    z = q.rsample()
    with torch.no_grad():
        ll = -F.binary_cross_entropy_with_logits(
            model.decoders["image"](z), data["image"], reduction="none"
        ).sum((1, 2, 3))
        want = ll + Laplace(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)
    many = torch.stack([model.importance_log_likelihood(data, mask, k=32) for _ in range(3)])
    one = torch.stack([model.importance_log_likelihood(data, mask, k=1) for _ in range(30)])
    assert torch.isfinite(many).all() and many.mean() > one.mean()


@pytest.mark.parametrize("latent_loss", ["mmd", "adversarial", "none"])
def test_other_latent_losses_train_on_the_stratified_draws(latent_loss: str) -> None:
    model = _model(list(SPECS), latent_loss=latent_loss, k=2)
    data = make_batch()
    mask = full_mask(data)
    mask["image"][:2] = False
    out = model.loss(data, mask)
    assert torch.isfinite(out.total) and "latent" in out.terms
    out.total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("estimator", ["elbo", "dreg"])
def test_values_of_absent_rows_never_reach_the_gradients(estimator: str) -> None:
    model = _model(list(SPECS), estimator=estimator, k=2)
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:3] = False
    mask["text"][5:] = False
    grads = []
    for fill in (float("nan"), 5.0):
        model.zero_grad()
        _seeded_loss(model, with_placeholders(data, mask, fill), mask).total.backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)
