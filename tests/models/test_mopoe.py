import dataclasses

import pytest
import torch

from mmlatent.models import build_model
from mmlatent.models.latent_model import likelihood_weights
from mmlatent.models.mopoe import MoPoE, MoPoEConfig

from .contract import SPECS, full_mask, make_batch


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latent_dim", 0),
        ("hidden_dim", 0),
        ("beta", -1.0),
        ("subsets", "pairs"),
        ("rescale", "max"),
        ("obs_scale", 0.0),
        ("latent_loss", "jsd"),
    ],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        MoPoEConfig(**{field: value})


def test_subsets_option_sets_the_mixture_components() -> None:
    for subsets, count in [("all", 15), ("full", 1), ("singletons", 4)]:
        model = build_model("mopoe", SPECS, {"latent_dim": 2, "hidden_dim": 8, "subsets": subsets})
        assert isinstance(model, MoPoE) and len(model.subsets) == count
    assert model.registry_name == "mopoe"


def test_rescale_weights_by_size() -> None:
    specs = [SPECS["image"], SPECS["text"]]  # 144 pixels, 6 tokens
    assert likelihood_weights(specs, "dims") == [1.0, 24.0]
    assert likelihood_weights(specs, "none") == [1.0, 1.0]
    assert likelihood_weights(specs, "none", {"text": 16}) == [1.0, 16.0]
    assert likelihood_weights(specs, "dims", {"image": 0.5}) == [0.5, 24.0]


def test_modality_weights_scale_that_modalitys_reconstruction_term() -> None:
    options = {"latent_dim": 4, "hidden_dim": 16, "rescale": "none", "latent_loss": "none"}
    torch.manual_seed(0)
    plain = build_model("mopoe", SPECS, options)
    weighted = build_model("mopoe", SPECS, options | {"modality_weights": {"text": 3.0}})
    weighted.load_state_dict(plain.state_dict())
    data = make_batch()
    mask = {m: torch.full((8,), m == "text") for m in data}  # every subset decodes text alone
    gap = weighted.loss(data, mask).total - plain.loss(data, mask).total
    torch.testing.assert_close(gap, 2.0 * plain.loss(data, mask).terms["rec_text"])


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ({"text": 0}, "finite weights > 0"),
        ({"text": -1.0}, "finite weights > 0"),
        ({"text": float("inf")}, "finite weights > 0"),
        ({"text": True}, "finite weights > 0"),
        (2.0, "finite weights > 0"),
        ({"txt": 2.0}, r"modality_weights.*must name modalities of the data"),
    ],
)
def test_bad_modality_weights_are_refused_by_name(weights: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_model("mopoe", SPECS, {"modality_weights": weights})


def test_beta_argument_overrides_config_and_zero_beta_drops_kl() -> None:
    torch.manual_seed(0)
    model = build_model("mopoe", SPECS, {"latent_dim": 4, "hidden_dim": 16, "rescale": "none"})
    data = make_batch()
    torch.manual_seed(1)
    out0 = model.loss(data, full_mask(data), beta=0.0)
    torch.manual_seed(1)
    out1 = model.loss(data, full_mask(data), beta=1.0)
    torch.testing.assert_close(out1.total - out0.total, out1.terms["kl"], rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(out1.total, -out1.terms["elbo"])  # beta 1, no rescale: the ELBO


def test_config_is_a_keyword_only_dataclass_with_documented_defaults() -> None:
    with pytest.raises(TypeError):
        MoPoEConfig(20)  # type: ignore[misc]
    assert {f.name for f in dataclasses.fields(MoPoEConfig)} == {
        "latent_dim",
        "hidden_dim",
        "beta",
        "latent_loss",
        "latent_loss_options",
        "subsets",
        "prior",
        "rescale",
        "modality_weights",
        "obs_scale",
        "decoder_refine",
        "decoder_critics",
        "critics_train_encoders",
    }


def test_mismatched_batch_sizes_raise() -> None:
    model = build_model("mopoe", SPECS, {"latent_dim": 2, "hidden_dim": 8})
    data = make_batch()
    mask = full_mask(data)
    mask["text"] = mask["text"][:3]
    with pytest.raises(ValueError, match="text"):
        model.loss(data, mask)
