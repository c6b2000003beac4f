from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Laplace, Normal

from mmlatent.models import build_model
from mmlatent.models.mvae import MVAE, MVAEConfig

from .contract import SPECS, full_mask, make_batch

TINY = {"latent_dim": 4, "hidden_dim": 16}


def _model(names: list[str], **options: Any) -> MVAE:
    torch.manual_seed(0)
    model = build_model("mvae", {m: SPECS[m] for m in names}, TINY | options)
    assert isinstance(model, MVAE)
    return model


def _hand_loglik(model: MVAE, m: str, z: Tensor, x: Tensor) -> Tensor:
    """log p(x_m | z) per row, from the decoder and a torch.distributions / F oracle."""
    params = model.decoders[m](z)
    scale = model.config.obs_scale
    family = SPECS[m].likelihood
    if family == "bernoulli":
        ll = -F.binary_cross_entropy_with_logits(params, x, reduction="none")
    elif family == "gaussian":
        ll = Normal(params, scale).log_prob(x)
    else:
        ll = Laplace(params, scale).log_prob(x)
    return ll.reshape(len(x), -1).sum(-1)


def _hand_poe(model: MVAE, data: dict[str, Tensor], names: list[str]) -> tuple[Tensor, Tensor]:
    """Mean and variance of N(0, I) * prod_m N(mu_m, var_m) by the textbook formula."""
    precision, weighted = 1.0, 0.0
    for m in names:
        mu, logvar = model.encoders[m](data[m])
        precision = precision + torch.exp(-logvar)
        weighted = weighted + mu * torch.exp(-logvar)
    var = 1.0 / precision
    return var * weighted, var


def _pair_reconstruction_terms(model: MVAE, data: dict[str, Tensor]) -> list[Tensor]:
    """Each pair's negative reconstruction from its PoE mean (a plain AE's pair ELBO), by hand."""
    terms = []
    for pair in (["image", "audio"], ["image", "vector"], ["audio", "vector"]):
        z, _ = _hand_poe(model, data, pair)
        terms.append(-sum(_hand_loglik(model, m, z, data[m]) for m in pair).mean())
    return terms


@pytest.mark.parametrize(
    ("field", "value"),
    [("n_random_subsets", -1), ("latent_dim", 0), ("beta", -1.0), ("latent_loss", "jsd")],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        MVAEConfig(**{field: value})


def test_registered_with_truthful_capabilities() -> None:
    model = _model(list(SPECS))
    assert model.registry_name == "mvae"
    assert model.capabilities.fusion == "product of experts"
    assert "Wu & Goodman" in model.capabilities.paper
    assert model.fixed_subsets.shape == (5, 4)  # full set + 4 singletons
    assert model.random_candidates.shape == (10, 4)  # 6 pairs + 4 triples


def test_one_present_modality_is_the_plain_negative_elbo() -> None:
    """No random subsets, only the image present: one term, the unimodal ELBO by hand."""
    model = _model(list(SPECS), n_random_subsets=0, rescale="none")
    data = make_batch()
    mask = {m: torch.full((8,), m == "image") for m in data}
    torch.manual_seed(3)
    out = model.loss(data, mask)

    torch.manual_seed(3)
    mean, var = _hand_poe(model, data, ["image"])
    z = mean + var.sqrt() * torch.randn(mean.shape)
    kl = 0.5 * (var + mean.pow(2) - 1.0 - var.log()).sum(-1)
    elbo = _hand_loglik(model, "image", z, data["image"]) - kl
    torch.testing.assert_close(out.total, -elbo.mean())
    torch.testing.assert_close(out.terms["elbo"], elbo.mean())
    torch.testing.assert_close(out.terms["kl"], kl.mean())
    assert out.terms["rec_text"] == 0  # no row has it


def test_terms_are_joint_plus_singletons_over_what_each_row_has() -> None:
    """Plain AE (codes are PoE means, no noise): full rows sum the joint and both unimodal
    reconstructions; a row without the vector has only its image term, counted once."""
    model = _model(["image", "vector"], n_random_subsets=0, rescale="none", latent_loss="none")
    data = make_batch()
    mask = full_mask(data)
    mask["vector"][5:] = False
    out = model.loss({m: data[m] for m in ("image", "vector")}, mask)

    img, vec = data["image"], data["vector"]
    joint, _ = _hand_poe(model, data, ["image", "vector"])
    alone = {m: _hand_poe(model, data, [m])[0] for m in ("image", "vector")}
    full_rows = -(
        _hand_loglik(model, "image", joint, img)
        + _hand_loglik(model, "vector", joint, vec)
        + _hand_loglik(model, "image", alone["image"], img)
        + _hand_loglik(model, "vector", alone["vector"], vec)
    )
    image_rows = -_hand_loglik(model, "image", alone["image"], img)
    expected = torch.where(mask["vector"], full_rows, image_rows).mean()
    torch.testing.assert_close(out.total, expected)


def test_beta_weighs_the_kl_of_every_term_a_row_counts() -> None:
    model = _model(["image", "vector"], n_random_subsets=0)
    data = {m: x for m, x in make_batch().items() if m in ("image", "vector")}
    mask = full_mask(data)
    mask["image"][:3] = False
    outs = []
    for beta in (0.0, 1.0):
        torch.manual_seed(1)
        outs.append(model.loss(data, mask, beta=beta).total)

    def kl(names: list[str]) -> Tensor:
        mean, var = _hand_poe(model, data, names)
        return 0.5 * (var + mean.pow(2) - 1.0 - var.log()).sum(-1)

    full_rows = kl(["image", "vector"]) + kl(["image"]) + kl(["vector"])
    expected = torch.where(mask["image"], full_rows, kl(["vector"])).mean()
    torch.testing.assert_close(outs[1] - outs[0], expected, rtol=1e-4, atol=1e-4)


def test_a_random_subset_adds_one_pair_elbo() -> None:
    names = ["image", "audio", "vector"]
    options = {"rescale": "none", "latent_loss": "none"}
    without = _model(names, n_random_subsets=0, **options)
    with_one = _model(names, n_random_subsets=1, **options)
    with_one.load_state_dict(without.state_dict())
    data = {m: x for m, x in make_batch().items() if m in names}
    mask = full_mask(data)
    pair_terms = _pair_reconstruction_terms(without, data)
    seen = set()
    for seed in range(6):
        torch.manual_seed(seed)
        added = with_one.loss(data, mask).total - without.loss(data, mask).total
        gaps = torch.stack([(added - term).abs() for term in pair_terms])
        assert gaps.min() < 1e-3 * pair_terms[0].abs()
        seen.add(int(gaps.argmin()))
    assert len(seen) > 1  # the subset is drawn afresh each step


@pytest.mark.parametrize("n_random", [1, 2])
def test_out_of_training_the_random_subsets_count_by_their_expectation(n_random: int) -> None:
    """Validation must not depend on which subset a batch draws: out of training every pair
    counts with weight n / C, and two evaluations agree exactly."""
    names = ["image", "audio", "vector"]
    options = {"rescale": "none", "latent_loss": "none"}
    without = _model(names, n_random_subsets=0, **options)
    model = _model(names, n_random_subsets=n_random, **options).eval()
    model.load_state_dict(without.state_dict())
    data = {m: x for m, x in make_batch().items() if m in names}
    mask = full_mask(data)
    pair_terms = _pair_reconstruction_terms(without, data)
    first, second = model.loss(data, mask).total, model.loss(data, mask).total
    assert first == second
    added = first - without.loss(data, mask).total
    torch.testing.assert_close(added, n_random / 3 * torch.stack(pair_terms).sum())


def test_singleton_elbos_are_logged() -> None:
    model = _model(list(SPECS))
    data = make_batch()
    out = model.loss(data, full_mask(data))
    assert {f"elbo_{m}" for m in SPECS} <= set(out.terms)
    assert all(out.terms[f"elbo_{m}"] < 0 for m in SPECS)


@pytest.mark.parametrize("latent_loss", ["mmd", "adversarial", "none"])
def test_other_latent_losses_replace_the_kl(latent_loss: str) -> None:
    model = _model(list(SPECS), latent_loss=latent_loss)
    data = make_batch()
    mask = full_mask(data)
    mask["text"][:4] = False
    out = model.loss(data, mask)
    assert torch.isfinite(out.total) and "latent" in out.terms
    out.total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
