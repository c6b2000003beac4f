"""What only the GANs do (the shared contract runs over them too, in test_contract.py)."""

from __future__ import annotations

import pytest
import torch

from mmlatent.models import build_model

from .contract import SPECS, full_mask, make_batch

TINY = {"latent_dim": 4, "hidden_dim": 16}


def test_a_gan_generates_from_noise_only_and_names_what_it_cannot_do() -> None:
    model = build_model("gan", SPECS, {**TINY, "modality": "audio"})
    assert model.modalities == ["audio"] and model.directions() == []
    assert model.generate(2)["audio"].shape == (2, 1, 8, 16)
    with pytest.raises(ValueError, match="from noise"):
        model.generate(given={"audio": torch.rand(2, 1, 8, 16)})
    with pytest.raises(ValueError, match="no encoder"):
        model.encode({"audio": torch.rand(2, 1, 8, 16)}, {"audio": torch.ones(2, dtype=bool)})
    with pytest.raises(ValueError, match="image-like"):
        build_model("gan", SPECS, {**TINY, "modality": "text"})
    with pytest.raises(ValueError, match="one of"):
        build_model("gan", SPECS, TINY)  # several modalities: which one?


@pytest.mark.parametrize(
    ("condition", "target"),
    [("text", "image"), ("audio", "image"), ("text", "audio"), ("vector", "image")],
)
def test_every_conditional_direction_has_the_right_shapes(condition: str, target: str) -> None:
    model = build_model("cgan", SPECS, {**TINY, "condition": condition, "modality": target})
    assert model.directions() == [((condition,), target)]
    data = make_batch(batch=3)
    out = model.generate(given={condition: data[condition]})
    assert list(out) == [target] and out[target].shape == (3, *SPECS[target].shape)
    assert out[target].min() >= 0 and out[target].max() <= 1
    with pytest.raises(ValueError, match=f"given={{'{condition}'"):
        model.generate(3)
    with pytest.raises(ValueError, match="cannot generate"):
        model.generate(given={condition: data[condition]}, targets=[condition])


def test_the_noise_mean_gives_one_sample_per_condition() -> None:
    model = build_model("cgan", SPECS, TINY).eval()
    text = make_batch(batch=3)["text"]
    a = model.generate(given={"text": text}, temperature=0)["image"]
    b = model.generate(given={"text": text}, temperature=0)["image"]
    torch.testing.assert_close(a, b)


def test_matching_aware_discriminator_scores_real_rows_with_wrong_conditions() -> None:
    data = make_batch()
    losses = {}
    for aware in (True, False):
        torch.manual_seed(0)
        model = build_model("cgan", SPECS, {**TINY, "matching_aware": aware})
        torch.manual_seed(1)
        losses[aware] = model.discriminator_loss(data, full_mask(data))
    assert "d_mismatched" in losses[True].terms and "d_mismatched" not in losses[False].terms
    assert not torch.equal(losses[True].total, losses[False].total)


def test_condition_and_generated_modality_must_differ_and_exist() -> None:
    with pytest.raises(ValueError, match="must differ"):
        build_model("cgan", SPECS, {**TINY, "condition": "image", "modality": "image"})
    with pytest.raises(ValueError, match="not in the data"):
        build_model("cgan", SPECS, {**TINY, "condition": "smell"})


@pytest.mark.parametrize("loss", ["hinge", "wgan-gp"])
def test_augment_shows_the_discriminator_shifted_samples_in_both_losses(loss: str) -> None:
    data = make_batch()
    model = build_model("gan", SPECS, {**TINY, "modality": "image", "loss": loss, "augment": True})
    seen: list[torch.Tensor] = []
    model.discriminator.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach()))
    torch.manual_seed(0)
    d_loss = model.discriminator_loss(data, full_mask(data)).total
    g_loss = model.generator_loss(data, full_mask(data)).total
    (d_loss + g_loss).backward()
    real = data["image"]
    assert not torch.equal(seen[0], real)  # the real rows went in translated and cut out
    assert (seen[0] == 0).sum() > (real == 0).sum()
    assert all(p.grad is not None for p in model.generator.parameters())
    seen.clear()
    model.discriminator_scores(data, full_mask(data))  # validation judges plain samples
    assert torch.equal(seen[0], real)


def test_a_shared_condition_encoder_feeds_the_generator_without_training_it() -> None:
    data = make_batch()
    shared = build_model("cgan", SPECS, TINY)
    own = build_model("cgan", SPECS, {**TINY, "shared_condition_encoder": False})
    assert shared.generator.condition is not None and own.generator.condition is not None
    body_params = sum(p.numel() for p in own.generator.condition.parameters())
    shared_params = sum(p.numel() for p in shared.generator.condition.parameters())
    assert shared_params < body_params  # only a layer norm: the body is the discriminator's
    features = shared.generator_condition(data["text"])
    assert features is not None and features.shape == (len(data["text"]), TINY["hidden_dim"])
    assert not features.requires_grad  # the generator's loss cannot reshape psi through it
    shared.generator_loss(data, full_mask(data)).total.backward()
    gains = [m.gain.weight.grad for m in shared.generator.modules() if hasattr(m, "norm")]
    assert gains and all(g is not None and g.abs().sum() > 0 for g in gains)
    with torch.no_grad():  # the caption reaches the samples through psi
        for m in shared.generator_average.modules():
            if hasattr(m, "norm") and hasattr(m, "gain"):
                torch.nn.init.normal_(m.gain.weight)
    text = data["text"]
    a = shared.eval().generate(given={"text": text}, temperature=0)["image"]
    b = shared.generate(given={"text": text.roll(1, 0)}, temperature=0)["image"]
    assert not torch.allclose(a, b)
