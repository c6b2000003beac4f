"""MMVAE+: shared and private codes, the auxiliary prior in cross-reconstructions, the
estimators, and the mixture density against torch.distributions."""

from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from mmlatent.latent import Gaussian
from mmlatent.models import build_model
from mmlatent.models.mmvaeplus import MMVAEPlus, MMVAEPlusConfig

from .contract import SPECS, full_mask, make_batch

OPTIONS = {"latent_dim": 4, "hidden_dim": 16, "private_dim": 3, "rescale": "none"}


def build(**options: Any) -> MMVAEPlus:
    torch.manual_seed(0)  # the same weights for every call with the same sizes
    model = build_model("mmvae+", SPECS, {**OPTIONS, **options})
    assert isinstance(model, MMVAEPlus)
    return model


def seeded_loss(model: MMVAEPlus, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Any:
    torch.manual_seed(7)
    return model.loss(data, mask)


class Recorder(nn.Module):
    """Wraps a decoder and keeps the codes it was given."""

    def __init__(self, decoder: nn.Module) -> None:
        super().__init__()
        self.decoder = decoder
        self.autoregressive = getattr(decoder, "autoregressive", False)
        self.seen: list[Tensor] = []

    def forward(self, z: Tensor, *args: Tensor) -> Tensor:
        self.seen.append(z.detach())
        return self.decoder(z, *args)


@pytest.mark.parametrize(
    ("field", "value"),
    [("private_dim", 0), ("aux_prior_std", 0.0), ("k", 0), ("estimator", "vimco")],
)
def test_config_validation_names_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        MMVAEPlusConfig(**{field: value})


def test_importance_estimators_need_the_kl() -> None:
    with pytest.raises(ValueError, match="estimator"):
        MMVAEPlusConfig(estimator="dreg", latent_loss="mmd")


def test_registered_with_truthful_capabilities() -> None:
    model = build()
    assert model.registry_name == "mmvae+"
    assert model.capabilities.trains_on_incomplete_rows
    assert "Palumbo" in model.capabilities.paper


def test_codes_are_shared_sized_and_decoders_read_shared_plus_private() -> None:
    model = build()
    data = make_batch()
    assert model.latent_dim == 4
    assert model.embed(data, full_mask(data)).shape == (8, 4)
    mean, _ = model.encoders["image"](data["image"])
    assert mean.shape == (8, 4 + 3)
    out = model.generate(latent=torch.randn(5, 4), targets=["vector", "text"])
    assert out["vector"].shape == (5, 5) and out["text"].shape == (5, 6)
    with pytest.raises(ValueError, match="latent must be"):
        model.generate(latent=torch.randn(5, 7))


def test_embed_is_the_mean_of_the_present_shared_experts() -> None:
    model = build()
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:4] = False
    shared = {m: model.encoders[m](data[m])[0][:, :4] for m in model.modalities}
    want = torch.cat(
        [
            (shared["image"][:4] + shared["text"][:4] + shared["vector"][:4]) / 3,
            sum(shared[m][4:] for m in model.modalities) / 4,
        ]
    )
    torch.testing.assert_close(model.embed(data, mask), want)


def test_cross_reconstructions_take_private_codes_from_the_auxiliary_prior() -> None:
    model = build(latent_loss="none", aux_prior_std=50.0, private_dim=16)  # codes are means
    recorders = {m: Recorder(model.decoders[m]) for m in model.modalities}
    model.decoders.update(recorders)
    data = make_batch()
    model.loss(data, full_mask(data))
    means = {m: model.encoders[m](data[m])[0].detach() for m in model.modalities}
    for j, n in enumerate(model.modalities):
        codes = recorders[n].seen[0].reshape(4, 8, 4 + 16)  # (M strata, B, D + P), K = 1
        for i, m in enumerate(model.modalities):
            torch.testing.assert_close(codes[i, :, :4], means[m][:, :4])  # w from stratum m
            if i == j:  # its own stratum: u_n from q(u_n | x_n)
                torch.testing.assert_close(codes[i, :, 4:], means[n][:, 4:])
            else:  # another's: u_n ~ r_n = N(0, 50^2 I)
                assert 25.0 < codes[i, :, 4:].std() < 100.0


def test_one_draw_iwae_and_dreg_equal_the_elbo() -> None:
    data = make_batch()
    mask = full_mask(data)
    elbo = seeded_loss(build(estimator="elbo"), data, mask)
    for estimator in ("iwae", "dreg"):
        other = seeded_loss(build(estimator=estimator), data, mask)
        torch.testing.assert_close(other.total, elbo.total)
        torch.testing.assert_close(other.terms[estimator], -elbo.total)
    torch.testing.assert_close(elbo.total, -elbo.terms["elbo"])  # beta 1, no rescale


def test_iwae_is_at_least_the_elbo_of_the_same_draws() -> None:
    data = make_batch()
    mask = full_mask(data)
    mask["text"][:3] = False
    elbo = seeded_loss(build(estimator="elbo", k=4), data, mask)
    iwae = seeded_loss(build(estimator="iwae", k=4), data, mask)
    assert iwae.total < elbo.total  # Jensen: log mean exp >= mean log, draw by draw


def test_dreg_changes_encoder_gradients_only() -> None:
    data = make_batch()
    mask = full_mask(data)
    grads = {}
    for estimator in ("iwae", "dreg"):
        model = build(estimator=estimator, k=3)
        encoder = model.encoders["image"].get_parameter("head.weight")
        decoder = model.decoders["vector"].get_parameter("0.weight")
        loss = seeded_loss(model, data, mask).total
        enc, dec = torch.autograd.grad(loss, [encoder, decoder])
        grads[estimator] = {"enc": enc, "dec": dec}
    torch.testing.assert_close(grads["iwae"]["dec"], grads["dreg"]["dec"])
    assert not torch.allclose(grads["iwae"]["enc"], grads["dreg"]["enc"])


def test_log_ratio_matches_a_torch_distributions_mixture() -> None:
    model = build()
    g = torch.Generator().manual_seed(0)
    b, m, d, p = 5, 4, 4, 3
    shared = Gaussian(torch.randn(b, m, d, generator=g), torch.randn(b, m, d, generator=g))
    private = Gaussian(torch.randn(b, m, p, generator=g), torch.randn(b, m, p, generator=g))
    present = torch.rand(b, m, generator=g) > 0.4
    present[:, 0] = True
    w, u = torch.randn(2, m, b, d, generator=g), torch.randn(2, m, b, p, generator=g)
    got = model.log_ratio(w, u, shared, private, present)  # (K, M, B)
    standard = Normal(0.0, 1.0)
    for row in range(b):
        weights = present[row].float() / present[row].sum()
        mixture = MixtureSameFamily(
            Categorical(probs=weights),
            Independent(Normal(shared.mean[row], shared.std[row]), 1),
        )
        for s in range(m):
            own = Independent(Normal(private.mean[row, s], private.std[row, s]), 1)
            want = (
                mixture.log_prob(w[:, s, row])
                + own.log_prob(u[:, s, row])
                - standard.log_prob(w[:, s, row]).sum(-1)
                - standard.log_prob(u[:, s, row]).sum(-1)
            )
            torch.testing.assert_close(got[:, s, row], want)


def test_absent_modalities_leave_their_strata_and_targets_out() -> None:
    model = build(latent_loss="none")  # deterministic apart from auxiliary draws
    data = make_batch()
    mask = full_mask(data)
    for m in ("audio", "text", "vector"):
        mask[m][:] = False  # only the image: one stratum, one target, no auxiliary draw
    a = model.loss(data, mask)
    b = model.loss({"image": data["image"]}, {"image": mask["image"]})
    torch.testing.assert_close(a.total, b.total)
    mean, _ = model.encoders["image"](data["image"])
    want = (
        -torch.distributions.Bernoulli(logits=model.decoders["image"](mean))
        .log_prob(data["image"])
        .sum((1, 2, 3))
        .mean()
    )
    torch.testing.assert_close(a.total, want)


def test_generation_keeps_given_private_codes_and_zeroes_the_others() -> None:
    model = build()
    data = make_batch(batch=3)
    out = model.generate(
        given={"vector": data["vector"]}, targets=["vector", "audio"], temperature=0
    )
    mean, _ = model.encoders["vector"](data["vector"])
    w, u = mean[:, :4], mean[:, 4:]
    torch.testing.assert_close(out["vector"], model.decoders["vector"](mean))
    audio = model.decoders["audio"](torch.cat([w, torch.zeros_like(u)], dim=-1))
    torch.testing.assert_close(out["audio"], audio.clamp(0, 1))


@pytest.mark.parametrize("latent_loss", ["mmd", "adversarial"])
def test_other_latent_losses_also_pull_the_private_codes(latent_loss: str) -> None:
    model = build(latent_loss=latent_loss)
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:2] = False
    out = model.loss(data, mask)
    assert torch.isfinite(out.total) and out.terms["private_latent"] > 0
    out.total.backward()
    private_loss = model.private_latent_loss
    assert all(p.grad is not None for p in private_loss.parameters())


def test_importance_log_likelihood_tightens_with_draws_and_ignores_absent_values() -> None:
    model = build().eval()
    data = make_batch(batch=16)
    mask = full_mask(data)
    mask["audio"][:5] = False
    noisy = dict(data, audio=torch.where(mask["audio"].view(-1, 1, 1, 1), data["audio"], torch.nan))
    torch.manual_seed(1)
    one = torch.stack([model.importance_log_likelihood(noisy, mask, k=1) for _ in range(20)])
    many = model.importance_log_likelihood(noisy, mask, k=64)
    assert torch.isfinite(many).all() and many.mean() > one.mean()
    with pytest.raises(ValueError, match="k must be"):
        model.importance_log_likelihood(data, mask, k=0)
