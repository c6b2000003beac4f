"""Critics on decoded data (``decoder_critics``): who each loss trains, when the critics' own
loss counts, which modalities may have one, and what a critic's gradient does to a decoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmlatent.models import build_model
from mmlatent.models.critics import DecoderCritics

from .contract import SPECS, TINY, full_mask, make_batch

CRITICS = {"decoder_critics": {"audio": 1.0}}


def grads(module: nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def critic_penalty(model: nn.Module) -> object:
    data = make_batch()
    present = model.present(data, full_mask(data))
    params = model.decode(model.encode(data, full_mask(data)).rsample(), ["audio"])
    return model.critic_penalty(params, data, present)


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


def test_outside_training_the_critics_loss_is_logged_not_added() -> None:
    """Validation ranks epochs by the model's objective; the critic's loss is the critic's."""
    model = build_model("mopoe", SPECS, {**TINY, **CRITICS}).eval()
    out = critic_penalty(model)
    assert float(out.auxiliary) == 0.0
    assert float(out.terms["critic_audio"]) > 0


@pytest.mark.parametrize("name", ["mopoe", "jmvae", "mvae", "mmvae", "mmvae+"])
def test_every_family_adds_the_weighted_critic_to_its_loss(name: str) -> None:
    """The same seed and weights: the loss with critics is the loss without them plus the
    critics' penalty and their own loss, which the terms log."""
    data = make_batch()
    torch.manual_seed(0)
    plain = build_model(name, SPECS, TINY)
    torch.manual_seed(0)
    critical = build_model(name, SPECS, {**TINY, "decoder_critics": {"audio": 3.0}})
    critical.load_state_dict(plain.state_dict(), strict=False)
    torch.manual_seed(1)
    without = plain.loss(data, full_mask(data))
    torch.manual_seed(1)
    with_critics = critical.loss(data, full_mask(data))
    added = with_critics.total - without.total
    expected = 3.0 * with_critics.terms["fooled_audio"] + with_critics.terms["critic_audio"]
    torch.testing.assert_close(added.detach(), expected, rtol=1e-4, atol=1e-3)


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
