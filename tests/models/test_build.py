import subprocess
import sys

import pytest
import torch

from mmlatent.models import build_model, model_class, model_config, model_from_config
from mmlatent.registry import MODELS

from .contract import SPECS


def test_models_are_found_without_an_import_list_and_named_once() -> None:
    assert "mopoe" in MODELS.names()
    for name in MODELS.names():
        cls = MODELS.get(name)
        assert cls.registry_name == name  # the decorator set it
        assert cls.capabilities.paper and cls.capabilities.family


def test_unknown_option_names_it_and_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'latnet_dim'.*latent_dim"):
        build_model("mopoe", SPECS, {"latnet_dim": 3})


def test_unknown_model_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="mopoe"):
        build_model("nope", SPECS)


def test_model_config_is_plain_and_round_trips() -> None:
    model = build_model("mopoe", SPECS, {"latent_dim": 3, "hidden_dim": 8})
    config = model_config(model)
    assert config["name"] == "mopoe" and config["options"]["latent_dim"] == 3
    assert isinstance(config["specs"]["image"], dict)
    clone = model_from_config(config)
    assert clone.config == model.config and clone.specs == model.specs
    with pytest.raises(ValueError, match="options"):
        model_from_config({"name": "mopoe", "specs": {}})


def test_models_latent_and_nn_do_not_import_lightning() -> None:
    code = (
        "import sys, mmlatent.models, mmlatent.latent, mmlatent.nn\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning', 'lightning_fabric')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def refinable_models() -> list[str]:
    return [
        n
        for n in MODELS.names()
        if "decoder_refine" in model_class(n).config_class.__dataclass_fields__
    ]


@pytest.mark.parametrize("name", refinable_models())
def test_decoder_refine_reaches_the_named_decoders_only(name: str) -> None:
    multimodal = model_class(name).capabilities.multimodal
    refined = {"audio": 1} if multimodal else {"image": 1}
    options = {"latent_dim": 3, "hidden_dim": 8, "decoder_refine": refined}
    if not multimodal:
        options["modality"] = "image"
    model = build_model(name, SPECS, options)
    for modality, decoder in model.decoders.items():
        full_resolution = [m for m in decoder.modules() if type(m) is torch.nn.Conv2d]
        assert len(full_resolution) == refined.get(modality, 0)


@pytest.mark.parametrize(
    ("refine", "match"),
    [
        ({"audio": -1}, "layer counts >= 0"),
        (2, "layer counts >= 0"),
        ({"audio": 1.5}, "layer counts >= 0"),
        ({"adio": 1}, r"must name modalities of the data \(image, audio, text, vector\)"),
        ({"text": 1}, "'text': text decoders have no grid"),
    ],
)
def test_bad_decoder_refine_is_refused_with_its_reason(refine: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_model("mopoe", SPECS, {"decoder_refine": refine})
