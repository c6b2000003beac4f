"""The shared contracts, run over every registered model (a new model is picked up by itself):
each model meets the contract of the training system it declares."""

from __future__ import annotations

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
