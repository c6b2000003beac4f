from typing import Any

import pytest
import torch
from torch import Tensor

from mmlatent.latent import build_latent_loss, mmd
from mmlatent.latent.losses import AdversarialLatentLoss, LatentPenalty
from mmlatent.models import build_model, model_class
from mmlatent.registry import LATENT_LOSSES, MODELS
from mmlatent.types import ModalitySpec

LOSSES = ["adversarial", "kl", "mmd", "none"]


def codes(n: int = 400, dim: int = 4, shift: float = 0.0, seed: int = 0) -> Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) + shift


# -- the registry ---------------------------------------------------------------------------------


def test_registry_lists_every_latent_loss() -> None:
    assert set(LOSSES) <= set(LATENT_LOSSES.names())
    for name in LOSSES:
        assert build_latent_loss(name, 3).registry_name == name


def test_unknown_name_and_option_name_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'jsd'.*adversarial, kl, mmd, none"):
        build_latent_loss("jsd", 3)
    with pytest.raises(ValueError, match=r"'kernal'.*kernel, kl_weight, scale, weight"):
        build_latent_loss("mmd", 3, {"kernal": "rbf"})
    with pytest.raises(ValueError, match=r"'weight'.*valid options: none"):
        build_latent_loss("kl", 3, {"weight": 2.0})


# -- kl and none ----------------------------------------------------------------------------------


def test_kl_is_the_batch_mean_of_the_given_kl() -> None:
    kl = torch.tensor([0.5, 1.5, 4.0])
    out = build_latent_loss("kl", 2)(torch.zeros(3, 2), kl)
    assert isinstance(out, LatentPenalty)
    torch.testing.assert_close(out.penalty, torch.tensor(2.0))
    assert out.auxiliary.item() == 0.0


def test_none_is_zero_and_trains_on_means() -> None:
    loss = build_latent_loss("none", 2)
    out = loss(codes(8, 2, shift=5.0), torch.full((8,), 9.0))
    assert out.penalty.item() == 0.0 and out.auxiliary.item() == 0.0
    assert loss.samples_codes is False
    assert all(build_latent_loss(n, 2).samples_codes for n in LOSSES if n != "none")


# -- mmd ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_near_zero_for_same_distribution_and_larger_for_shifted(kernel: str) -> None:
    x, y = codes(seed=0), codes(seed=1)
    same = mmd(x, y, kernel)
    shifted = mmd(x, y + 1.0, kernel)
    assert abs(same.item()) < 0.01
    assert shifted.item() > 10 * max(abs(same.item()), 1e-3)


def test_mmd_is_unbiased_so_can_be_negative_but_averages_to_zero() -> None:
    g = torch.Generator().manual_seed(1)
    values = [
        mmd(torch.randn(20, 2, generator=g), torch.randn(20, 2, generator=g)).item()
        for _ in range(200)
    ]
    assert min(values) < 0
    assert abs(sum(values) / len(values)) < 0.01


def test_mmd_has_gradients() -> None:
    x = torch.randn(10, 3, requires_grad=True)
    mmd(x, torch.randn(10, 3)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_mmd_validates_inputs() -> None:
    with pytest.raises(ValueError, match="two samples"):
        mmd(torch.zeros(1, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="kernel"):
        mmd(torch.zeros(3, 2), torch.zeros(3, 2), "laplacian")
    with pytest.raises(ValueError, match="kernel"):
        build_latent_loss("mmd", 2, {"kernel": "laplacian"})
    with pytest.raises(ValueError, match="weight"):
        build_latent_loss("mmd", 2, {"weight": 0.0})


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_loss_is_small_for_prior_codes_and_large_for_shifted_ones(kernel: str) -> None:
    loss = build_latent_loss("mmd", 4, {"kernel": kernel, "weight": 1.0})
    torch.manual_seed(0)
    prior = loss(codes(seed=2), torch.zeros(400))
    shifted = loss(codes(seed=2, shift=2.0), torch.zeros(400))
    assert abs(prior.penalty.item()) < 0.01
    assert shifted.penalty.item() > 0.1
    torch.testing.assert_close(shifted.terms["mmd"], shifted.penalty)
    assert prior.auxiliary.item() == 0.0


def test_mmd_loss_is_weighted_and_silent_on_one_code() -> None:
    light = build_latent_loss("mmd", 4, {"weight": 1.0})
    heavy = build_latent_loss("mmd", 4, {"weight": 50.0})
    z = codes(64, shift=1.0)
    torch.manual_seed(0)
    a = light(z, torch.zeros(64))
    torch.manual_seed(0)
    torch.testing.assert_close(heavy(z, torch.zeros(64)).penalty, 50.0 * a.penalty)
    assert light(z[:1], torch.zeros(1)).penalty.item() == 0.0


# -- adversarial ----------------------------------------------------------------------------------


def test_adversarial_gradients_reach_each_player_only_from_its_own_loss() -> None:
    torch.manual_seed(0)
    loss = build_latent_loss("adversarial", 3, {"hidden_dim": 16})
    assert isinstance(loss, AdversarialLatentLoss)
    z = codes(32, 3, shift=1.0).requires_grad_()
    out = loss(z, torch.zeros(32))
    disc = list(loss.discriminator.parameters())

    from_penalty = torch.autograd.grad(
        out.penalty, [z, *disc], allow_unused=True, retain_graph=True
    )
    assert from_penalty[0] is not None and from_penalty[0].abs().sum() > 0
    assert all(g is None for g in from_penalty[1:])

    from_auxiliary = torch.autograd.grad(out.auxiliary, [z, *disc], allow_unused=True)
    assert from_auxiliary[0] is None
    assert all(g is not None and g.abs().sum() > 0 for g in from_auxiliary[1:])


def test_adversarial_discriminator_loss_counts_only_in_training() -> None:
    """Validation ranks epochs by the model's objective: D's own loss is logged, not added."""
    loss = build_latent_loss("adversarial", 3, {"hidden_dim": 16})
    z = codes(32, 3, shift=1.0)
    torch.manual_seed(0)
    training = loss.train()(z, torch.zeros(32))
    torch.manual_seed(0)
    scoring = loss.eval()(z, torch.zeros(32))
    assert training.auxiliary > 0 and scoring.auxiliary == 0
    torch.testing.assert_close(scoring.penalty, training.penalty)
    torch.testing.assert_close(scoring.terms["disc"], training.auxiliary.detach())


def test_adversarial_discriminator_learns_and_pulls_codes_to_the_prior() -> None:
    torch.manual_seed(0)
    loss = build_latent_loss("adversarial", 2, {"hidden_dim": 32, "weight": 1.0})
    z = codes(128, 2, shift=3.0).requires_grad_()
    kl = torch.zeros(128)
    discriminator_only = torch.optim.Adam(loss.parameters(), lr=1e-2)
    first = loss(z, kl).terms["disc"]
    for _ in range(20):  # codes held still: D alone learns to tell them from the prior
        discriminator_only.zero_grad()
        loss(z, kl).auxiliary.backward()
        discriminator_only.step()
    assert loss(z, kl).terms["disc"] < 0.5 * first

    groups: list[dict[str, Any]] = [{"params": [z], "lr": 5e-2}, {"params": loss.parameters()}]
    both = torch.optim.Adam(groups, lr=1e-2)
    for _ in range(50):
        out = loss(z, kl)
        both.zero_grad()
        (out.penalty + out.auxiliary).backward()
        both.step()
    assert z.detach().mean(0).norm() < 0.5 * codes(128, 2, shift=3.0).mean(0).norm()


# -- every model with every latent loss it accepts ------------------------------------------------

SPECS = {
    "image": ModalitySpec(name="image", kind="image", shape=(1, 12, 12), likelihood="bernoulli"),
    "vector": ModalitySpec(name="vector", kind="vector", shape=(5,), likelihood="gaussian"),
}


def model_and_loss_pairs() -> list[tuple[str, str]]:
    return [
        (name, loss)
        for name in MODELS.names()
        for loss in model_class(name).capabilities.latent_losses
    ]


@pytest.mark.parametrize(("name", "latent_loss"), model_and_loss_pairs())
def test_every_model_trains_with_every_latent_loss_it_accepts(name: str, latent_loss: str) -> None:
    options = {"latent_dim": 3, "hidden_dim": 8, "latent_loss": latent_loss}
    if not model_class(name).capabilities.multimodal:
        options["modality"] = "image"
    torch.manual_seed(0)
    model = build_model(name, SPECS, options)
    g = torch.Generator().manual_seed(0)
    data = {"image": torch.rand(6, 1, 12, 12, generator=g).round(), "vector": torch.rand(6, 5)}
    mask = {m: torch.ones(6, dtype=torch.bool) for m in data}
    out = model.loss(data, mask)
    assert out.total.dim() == 0 and torch.isfinite(out.total)
    out.total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    if latent_loss == "adversarial":
        players = [m for m in model.modules() if isinstance(m, AdversarialLatentLoss)]
        assert players and all(p.grad is not None for m in players for p in m.parameters())


def test_mmd_loss_without_a_scale_averages_the_multi_scale_kernels() -> None:
    from mmlatent.latent.losses import MULTI_SCALES, MMDLoss

    z = torch.randn(16, 3) + 1.0
    torch.manual_seed(4)
    got = MMDLoss(3, weight=1.0)(z, torch.zeros(16)).penalty
    torch.manual_seed(4)
    prior = torch.randn_like(z)
    want = sum(mmd(z, prior, "imq", 6.0 * c) for c in MULTI_SCALES) / len(MULTI_SCALES)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("name", ["mmd", "adversarial"])
def test_kl_weight_adds_that_share_of_the_kl(name: str) -> None:
    z, kl = torch.randn(16, 3), torch.full((16,), 2.0)
    torch.manual_seed(0)
    plain = build_latent_loss(name, 3)
    plain_penalty = plain(z, kl).penalty
    torch.manual_seed(0)
    mixed = build_latent_loss(name, 3, {"kl_weight": 0.5})
    mixed.load_state_dict(plain.state_dict())
    torch.testing.assert_close(mixed(z, kl).penalty, plain_penalty + 1.0)
    with pytest.raises(ValueError, match="kl_weight"):
        build_latent_loss(name, 3, {"kl_weight": -1.0})
