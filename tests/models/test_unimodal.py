import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from mmlatent.models import build_model, model_class
from mmlatent.models.unimodal import AEConfig, BetaVAEConfig, UnimodalModel, VAEConfig

from .contract import SPECS, full_mask, make_batch

TINY = {"latent_dim": 4, "hidden_dim": 16}
NAMES = ["ae", "vae", "beta-vae"]


def tiny(name: str, modality: str | None = "image", **options: object) -> UnimodalModel:
    torch.manual_seed(0)
    model = build_model(name, SPECS, {**TINY, "modality": modality, **options})
    assert isinstance(model, UnimodalModel)
    return model


def seeded_loss(model: UnimodalModel, data: dict, mask: dict, seed: int = 0) -> Tensor:
    torch.manual_seed(seed)
    return model.loss(data, mask).total


# -- the modality ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_keeps_only_the_named_modality(name: str) -> None:
    model = tiny(name, "audio")
    assert model.modalities == ["audio"] and model.modality == "audio"
    assert set(model.encoders) == set(model.decoders) == {"audio"}
    assert model.config.modality == "audio"
    assert not model.capabilities.multimodal and model.capabilities.fusion == "none"


def test_no_modality_is_fine_when_the_data_has_one() -> None:
    model = build_model("vae", {"text": SPECS["text"]}, TINY)
    assert model.modalities == ["text"]


def test_no_modality_with_several_names_the_field_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"modality.*\['audio', 'image', 'text', 'vector'\]"):
        build_model("vae", SPECS, TINY)


def test_unknown_modality_names_it_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"modality 'smell'.*\['audio', 'image'"):
        build_model("ae", SPECS, {**TINY, "modality": "smell"})
    with pytest.raises(ValueError, match="modality"):
        VAEConfig(modality="")


def test_defaults_of_the_three_names() -> None:
    assert (AEConfig().latent_loss, AEConfig().beta) == ("none", 1.0)
    assert (VAEConfig().latent_loss, VAEConfig().beta) == ("kl", 1.0)
    assert (BetaVAEConfig().latent_loss, BetaVAEConfig().beta) == ("kl", 4.0)
    for name in NAMES:
        assert model_class(name).capabilities.paper


# -- what the loss reads --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_other_modalities_do_not_change_loss_or_gradients(name: str) -> None:
    model = tiny(name, "image")
    data = make_batch(seed=0)
    other = {**make_batch(seed=1), "image": data["image"]}  # new audio, text, vector
    mask = full_mask(data)
    partial_mask = {**mask, "audio": torch.arange(len(mask["audio"])) % 2 == 0}
    only_image = {"image": data["image"]}
    results = []
    for d, k in [(data, mask), (other, partial_mask), (only_image, {"image": mask["image"]})]:
        model.zero_grad()
        loss = seeded_loss(model, d, k)
        loss.backward()
        grads = [
            torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.parameters()
        ]
        results.append((loss.detach(), grads))
    for loss, grads in results[1:]:
        torch.testing.assert_close(loss, results[0][0], rtol=0, atol=0)
        for g, want in zip(grads, results[0][1], strict=True):
            torch.testing.assert_close(g, want, rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_rows_without_the_modality_leave_the_batch_mean(name: str) -> None:
    model = tiny(name, "vector")
    data = make_batch()
    mask = full_mask(data)
    mask["vector"][::3] = False
    mask["image"][:] = True  # every row keeps some modality
    kept = mask["vector"]
    sub = {m: x[kept] for m, x in data.items()}
    torch.testing.assert_close(
        seeded_loss(model, data, mask), seeded_loss(model, sub, full_mask(sub))
    )


def test_no_row_with_the_modality_is_a_zero_loss_that_backpropagates() -> None:
    model = tiny("vae", "audio")
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:] = False
    out = model.loss(data, mask)
    assert out.total.item() == 0.0 and out.total.grad_fn is not None
    assert out.terms["rec_audio"].item() == 0.0
    out.total.backward()
    assert all(p.grad is not None and (p.grad == 0).all() for p in model.parameters())
    without = model.loss({"image": data["image"]}, {"image": mask["image"]})
    assert without.total.item() == 0.0


def test_encode_needs_the_modality_on_every_row() -> None:
    model = tiny("vae", "image")
    data = make_batch()
    mask = full_mask(data)
    assert model.encode(data, mask).mean.shape == (len(data["image"]), 4)
    mask["image"][0] = False
    with pytest.raises(ValueError, match=r"1 rows lack 'image'"):
        model.encode(data, mask)
    with pytest.raises(ValueError, match="lacks 'image'"):
        model.encode({"text": data["text"]}, {"text": mask["text"]})
    with pytest.raises(ValueError, match="unknown modality 'text'"):
        model.generate(given={"text": data["text"]})


# -- the objective by hand ------------------------------------------------------------------------


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(-1)


def gaussian_nll(mean: Tensor, x: Tensor, scale: float) -> Tensor:
    per_value = 0.5 * ((x - mean) / scale) ** 2 + math.log(scale) + 0.5 * math.log(2 * math.pi)
    return per_value.flatten(1).sum(-1)


@pytest.mark.parametrize(("name", "beta"), [("vae", 1.0), ("beta-vae", 4.0)])
@pytest.mark.parametrize("modality", ["image", "vector"])
def test_loss_is_the_negative_elbo_by_hand(name: str, beta: float, modality: str) -> None:
    model = tiny(name, modality)
    data = make_batch()
    mask = full_mask(data)
    mask[modality][1] = False  # dropped from the mean
    torch.manual_seed(3)
    out = model.loss(data, mask)

    x = data[modality][mask[modality]]
    torch.manual_seed(3)
    with torch.no_grad():
        mean, logvar = model.encoders[modality](x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape)  # reparameterised draw
        params = model.decoders[modality](z)
    if modality == "image":
        nll = bernoulli_nll(params, x)
    else:
        nll = gaussian_nll(params, x, model.config.obs_scale)
    kl = 0.5 * (logvar.exp() + mean**2 - 1 - logvar).sum(-1)
    torch.testing.assert_close(out.total, (nll + beta * kl).mean())
    torch.testing.assert_close(out.terms["elbo"], -(nll + kl).mean())
    torch.testing.assert_close(out.terms["kl"], kl.mean())
    torch.testing.assert_close(out.terms[f"rec_{modality}"], nll.mean())


def test_autoencoder_is_deterministic_and_decodes_the_mean() -> None:
    model = tiny("ae", "image")
    data = make_batch()
    mask = full_mask(data)
    torch.manual_seed(1)
    first = model.loss(data, mask).total
    torch.manual_seed(2)
    torch.testing.assert_close(model.loss(data, mask).total, first, rtol=0, atol=0)
    with torch.no_grad():
        mean, _ = model.encoders["image"](data["image"])
        nll = bernoulli_nll(model.decoders["image"](mean), data["image"])
    torch.testing.assert_close(first, nll.mean())
    given = {"image": data["image"]}
    torch.manual_seed(1)
    a = model.generate(given=given)["image"]
    torch.manual_seed(2)
    torch.testing.assert_close(model.generate(given=given)["image"], a, rtol=0, atol=0)
    torch.testing.assert_close(model.embed(data, mask), mean)


@pytest.mark.parametrize("latent_loss", ["mmd", "adversarial"])
def test_wae_and_aae_are_the_same_model_with_another_latent_loss(latent_loss: str) -> None:
    model = tiny("ae", "image", latent_loss=latent_loss)
    data = make_batch()
    out = model.loss(data, full_mask(data))
    assert torch.isfinite(out.total) and out.terms["latent"] != 0
    out.total.backward()
    assert all(p.grad is not None for p in model.encoders.parameters())
