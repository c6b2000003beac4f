"""Generative models, each registered by name; build them from specs and plain options.

Every module in this package registers its models on first lookup in ``MODELS``
(``mmlatent.registry``): adding a family is one new module, with no import list to edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from mmlatent.models.base import Capabilities, GenerativeModel, LossOutput
from mmlatent.registry import MODELS
from mmlatent.types import ModalitySpec

__all__ = [
    "Capabilities",
    "GenerativeModel",
    "LossOutput",
    "build_config",
    "build_model",
    "model_class",
    "model_config",
    "model_from_config",
]


def model_class(name: str) -> type[GenerativeModel]:
    """The registered model class ``name``; an unknown name lists the known ones."""
    return MODELS.get(name)


def build_config(config_class: type, options: Mapping[str, Any] | None) -> Any:
    """``config_class(**options)``; an unknown option is a ``ValueError`` naming the valid ones."""
    options = dict(options or {})
    valid = [f.name for f in fields(config_class)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown option {unknown[0]!r} for {config_class.__name__}; valid options: {', '.join(valid)}"
        )
    return config_class(**options)


def build_model(
    name: str, specs: Mapping[str, ModalitySpec], options: Mapping[str, Any] | None = None
) -> GenerativeModel:
    """The registered model ``name`` for these modalities, its config built from ``options``."""
    cls = model_class(name)
    return cls(dict(specs), build_config(cls.config_class, options))


def model_config(model: GenerativeModel) -> dict[str, Any]:
    """Plain values (YAML/JSON-safe) that rebuild ``model``'s architecture: name, specs, options."""
    return {
        "name": model.registry_name,
        "specs": {m: s.to_dict() for m, s in model.specs.items()},
        "options": model.config_dict(),
    }


def model_from_config(config: Mapping[str, Any]) -> GenerativeModel:
    """Inverse of :func:`model_config` (weights are loaded separately, e.g. from safetensors)."""
    missing = [k for k in ("name", "specs", "options") if k not in config]
    if missing:
        raise ValueError(f"model config lacks {missing[0]!r}")
    specs = {
        m: s if isinstance(s, ModalitySpec) else ModalitySpec.from_dict(s)
        for m, s in config["specs"].items()
    }
    return build_model(config["name"], specs, config["options"])
