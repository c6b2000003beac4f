"""The shared contract, run over every registered model (a new model is picked up by itself)."""

from __future__ import annotations

from mmlatent.models import model_class
from mmlatent.registry import MODELS

from .contract import TINY, ModelContract


def contract_options(name: str) -> dict:
    """Tiny networks; a one-modality model is pointed at the image."""
    options = dict(TINY)
    if not model_class(name).capabilities.multimodal:
        options["modality"] = "image"
    return options


for _name in MODELS.names():
    _class = f"TestContract_{_name.replace('-', '_').replace('+', 'plus')}"
    globals()[_class] = type(
        _class, (ModelContract,), {"model_name": _name, "options": contract_options(_name)}
    )
