"""The shared contracts, run over every registered model (a new model is picked up by itself):
each model meets the contract of the training system it declares."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from mmlatent.models import model_class
from mmlatent.registry import MODELS

from .contract import TINY, AdversarialContract, ModelContract

CONTRACTS = {c.training: c for c in (ModelContract, AdversarialContract)}


def contract_options(name: str) -> dict:
    """Tiny networks; a one-modality model is pointed at the image."""
    options = dict(TINY)
    if not model_class(name).capabilities.multimodal:
        options["modality"] = "image"
    return options


for _name in MODELS.names():
    _class = f"TestContract_{_name.replace('-', '_').replace('+', 'plus')}"
    _contract = CONTRACTS[model_class(_name).capabilities.training]
    globals()[_class] = type(
        _class, (_contract,), {"model_name": _name, "options": contract_options(_name)}
    )


def learns_a_prior(name: str) -> bool:
    """Latent models choose their prior (``LatentModelConfig.prior``; GANs have none), and a
    learned one goes with the KL (a plain autoencoder has no latent loss to learn it by)."""
    fields = {f.name: f for f in dataclasses.fields(model_class(name).config_class)}
    return "prior" in fields and fields["latent_loss"].default == "kl"


# ... and again with a learned prior, wherever a model offers one.
for _name in filter(learns_a_prior, MODELS.names()):
    _class = f"TestContractLearnedPrior_{_name.replace('-', '_').replace('+', 'plus')}"
    _contract = CONTRACTS[model_class(_name).capabilities.training]
    _options = {**contract_options(_name), "prior": "learned"}
    globals()[_class] = type(_class, (_contract,), {"model_name": _name, "options": _options})


class TestContractLearnedLaplacePrior_mmvae(ModelContract):
    """MMVAE's Laplace experts with their learned Laplace prior, the paper's own pairing."""

    model_name = "mmvae"
    options: ClassVar[dict] = {
        **contract_options("mmvae"),
        "posterior": "laplace",
        "prior": "learned",
    }


# ... and with refined grid decoders, through each place a decoder is built (the base, MMVAE+).
for _name in ("mopoe", "mmvae+"):
    _class = f"TestContractRefinedDecoders_{_name.replace('+', 'plus')}"
    _options = {**contract_options(_name), "decoder_refine": {"image": 2, "audio": 1}}
    globals()[_class] = type(_class, (ModelContract,), {"model_name": _name, "options": _options})


# ... and with critics on the decoded grids, in every family whose objective feeds them.
for _name in (n for n in MODELS.names() if model_class(n).capabilities.decoder_critics):
    _class = f"TestContractDecoderCritics_{_name.replace('-', '_').replace('+', 'plus')}"
    _options = contract_options(_name)
    _grids = ("image", "audio") if model_class(_name).capabilities.multimodal else ("image",)
    _options["decoder_critics"] = dict.fromkeys(_grids, 1.0)
    globals()[_class] = type(_class, (ModelContract,), {"model_name": _name, "options": _options})


# ... and with critics that train the decoders alone, through each way of decoding again
# (the base's shared codes, MVAE's per-term codes, MMVAE+'s private codes).
for _name in ("mopoe", "mvae", "mmvae+"):
    _class = f"TestContractDecoderOnlyCritics_{_name.replace('+', 'plus')}"
    _options = {
        **contract_options(_name),
        "decoder_critics": {"image": 1.0, "audio": 1.0},
        "critics_train_encoders": False,
    }
    globals()[_class] = type(_class, (ModelContract,), {"model_name": _name, "options": _options})
