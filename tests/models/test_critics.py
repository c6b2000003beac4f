"""Critics on decoded data (``decoder_critics``): who each loss trains, when the critics' own
loss counts, which modalities may have one, and what a critic's gradient does to a decoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmlatent.models import build_model, model_class
from mmlatent.models.critics import DecoderCritics
from mmlatent.registry import MODELS

from .contract import SPECS, TINY, full_mask, make_batch

CRITICS = {"decoder_critics": {"audio": 1.0}}


def grads(module: nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def critic_penalty(model: nn.Module) -> object:
    data = make_batch()
    present = model.present(data, full_mask(data))
    code = model.encode(data, full_mask(data)).rsample()
    params = model.decode(code, ["audio"])
    return model.critic_penalty(params, data, present, redecode=model.redecoder(code))


def critical_families() -> list[str]:
    return [n for n in MODELS.names() if model_class(n).capabilities.decoder_critics]


def options_for(name: str, critics: dict[str, float] | None = None) -> dict:
    """Tiny networks; a one-modality model is pointed at the audio, the modality criticised."""
    options = dict(TINY)
    if not model_class(name).capabilities.multimodal:
        options["modality"] = "audio"
    return options | ({"decoder_critics": critics} if critics else {})


def twins(name: str, options: dict, weight: float) -> tuple[nn.Module, nn.Module]:
    """The same model without and with an audio critic of ``weight``, sharing every weight."""
    torch.manual_seed(0)
    plain = build_model(name, SPECS, options_for(name) | options)
    torch.manual_seed(0)
    critical = build_model(name, SPECS, options_for(name, {"audio": weight}) | options)
    critical.load_state_dict(plain.state_dict(), strict=False)
    return plain, critical


def loss_of(model: nn.Module, data: dict) -> object:
    torch.manual_seed(1)
    return model.loss(data, full_mask(data))


def test_the_decoders_loss_trains_the_decoders_not_the_critic() -> None:
    model = build_model("mopoe", SPECS, {**TINY, **CRITICS})
    critic_penalty(model).penalty.backward()
    assert grads(model.decoders["audio"]) > 0
    assert grads(model.critics) == 0


def test_the_critics_loss_trains_the_critic_not_the_decoders() -> None:
    model = build_model("mopoe", SPECS, {**TINY, **CRITICS})
    critic_penalty(model).auxiliary.backward()
    assert grads(model.critics) > 0
    assert grads(model.decoders["audio"]) == 0 and grads(model.encoders) == 0


def test_outside_training_the_critics_terms_are_logged_not_added() -> None:
    """Validation ranks epochs by the model's objective, not by the critics' game."""
    model = build_model("mopoe", SPECS, {**TINY, **CRITICS}).eval()
    out = critic_penalty(model)
    assert float(out.auxiliary) == 0.0 and float(out.penalty) == 0.0
    assert float(out.terms["critic_audio"]) > 0 and float(out.terms["fooled_audio"]) > 0


@pytest.mark.parametrize("name", critical_families())
def test_every_family_adds_the_weighted_critic_to_its_training_loss_only(name: str) -> None:
    """The same seed and weights: in training the loss with critics is the loss without them
    plus the critics' penalty and their own loss, which the terms log; in evaluation it is the
    loss without them."""
    data = make_batch()
    plain, critical = twins(name, {}, weight=3.0)
    with_critics = loss_of(critical, data)
    added = with_critics.total - loss_of(plain, data).total
    expected = 3.0 * with_critics.terms["fooled_audio"] + with_critics.terms["critic_audio"]
    torch.testing.assert_close(added.detach(), expected, rtol=1e-4, atol=1e-3)
    plain.eval(), critical.eval()
    torch.testing.assert_close(loss_of(critical, data).total, loss_of(plain, data).total)


ESTIMATORS = {"mmvae": {"estimator": "dreg", "k": 3}, "mmvae+": {"estimator": "dreg", "k": 3}}


def upstream_gradients_match(name: str, options: dict) -> bool:
    """Whether every weight outside the decoders (encoders, a joint encoder, a learned prior)
    gets, with an audio critic, the gradient it gets without one; the criticised decoder's
    gradient must change either way."""
    data = make_batch()
    plain, critical = twins(name, ESTIMATORS.get(name, {}) | options, weight=5.0)
    loss_of(plain, data).total.backward()
    loss_of(critical, data).total.backward()
    decoder = critical.decoders["audio"]
    changed = sum(
        float((a.grad - b.grad).abs().sum())
        for a, b in zip(decoder.parameters(), plain.decoders["audio"].parameters(), strict=True)
    )
    assert changed > 1e-3 * grads(decoder) > 0
    theirs = dict(plain.named_parameters())
    upstream = [k for k in theirs if not k.startswith("decoders.") and theirs[k].grad is not None]
    assert any(k.startswith("encoders.") for k in upstream)
    return all(
        torch.allclose(critical.get_parameter(k).grad, theirs[k].grad, rtol=1e-4, atol=1e-6)
        for k in upstream
    )


@pytest.mark.parametrize("name", critical_families())
def test_without_critics_training_encoders_the_critic_trains_the_decoders_alone(
    name: str,
) -> None:
    """VAE-GAN's rule (under DReG too): the encoders' gradient is the one without a critic."""
    assert upstream_gradients_match(name, {"critics_train_encoders": False})


@pytest.mark.parametrize("name", critical_families())
def test_by_default_the_critics_gradient_reaches_the_encoders(name: str) -> None:
    assert not upstream_gradients_match(name, {})


def test_a_critic_sharpens_what_a_decoder_makes() -> None:
    """Two targets for one code: the likelihood alone fits their mean, which the critic has
    never seen as data and pushes the decoder away from."""
    torch.manual_seed(0)
    spec = SPECS["audio"]
    critics = DecoderCritics({"audio": spec}, {"audio": 1.0}, hidden_dim=16)
    real = torch.cat([torch.zeros(32, *spec.shape), torch.ones(32, *spec.shape)])
    output = nn.Parameter(torch.full((1, *spec.shape), 0.5))  # the mean of the two
    optimiser = torch.optim.Adam([output, *critics.parameters()], lr=0.02)
    for _ in range(150):
        optimiser.zero_grad()
        out = critics({"audio": output.expand(16, *spec.shape)}, {"audio": real})
        (out.penalty + out.auxiliary).backward()
        optimiser.step()
    assert float((output.detach() - 0.5).abs().mean()) > 0.2


@pytest.mark.parametrize(
    ("critics", "message"),
    [
        ({"text": 1.0}, "image-like"),
        ({"sound": 1.0}, "must name modalities of the data"),
        ({"audio": 0.0}, "finite weights > 0"),
        ({"audio": float("nan")}, "finite weights > 0"),
        ({"audio": True}, "finite weights > 0"),
    ],
)
def test_bad_critic_options_are_named(critics: dict, message: str) -> None:
    with pytest.raises(ValueError, match="decoder_critics") as error:
        build_model("mopoe", SPECS, {**TINY, "decoder_critics": critics})
    assert message in str(error.value)


@pytest.mark.parametrize("value", ["no", 0, None])
def test_critics_train_encoders_must_be_a_bool(value: object) -> None:
    with pytest.raises(ValueError, match="critics_train_encoders must be true or false"):
        build_model("mopoe", SPECS, {**TINY, **CRITICS, "critics_train_encoders": value})


def test_a_one_modality_model_takes_a_critic_for_its_own_modality_only() -> None:
    options = {**TINY, "modality": "image"}
    model = build_model("vae", SPECS, {**options, "decoder_critics": {"image": 1}})
    assert model.critics is not None and set(model.critics.weights) == {"image"}
    with pytest.raises(ValueError, match="decoder_critics must name modalities vae models"):
        build_model("vae", SPECS, {**options, "decoder_critics": {"image": 1, "audio": 1}})


def test_without_the_option_there_are_no_critics_or_their_terms() -> None:
    model = build_model("mopoe", SPECS, TINY)
    data = make_batch()
    assert model.critics is None
    assert not any(
        k.startswith(("critic_", "fooled_")) for k in model.loss(data, full_mask(data)).terms
    )


@pytest.mark.parametrize("name", ["mopoe", "mvae", "mmvae+"])
def test_a_batch_without_the_modality_still_reaches_every_critic_weight(name: str) -> None:
    """DDP needs every parameter in every step's graph, and every rank to log the same terms."""
    model = build_model(name, SPECS, {**TINY, "decoder_critics": {"image": 1.0}})
    data = make_batch()
    mask = full_mask(data)
    mask["image"][:] = False
    out = model.loss(data, mask)
    out.total.backward()
    assert all(p.grad is not None for p in model.critics.parameters())
    assert float(out.terms["critic_image"]) == 0.0 and float(out.terms["fooled_image"]) == 0.0
