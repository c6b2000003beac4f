"""Training systems: the LightningModules that fit models, one module each, registered by name.

A model names the system that fits it in ``capabilities.training``; :func:`build_system` looks
it up, so adding a system (an adversarial one, say) is one new module here.
"""

from __future__ import annotations

import lightning as L

from mmlatent.config import TrainConfig
from mmlatent.models.base import GenerativeModel
from mmlatent.registry import TRAINING_SYSTEMS


def build_system(model: GenerativeModel, train: TrainConfig) -> L.LightningModule:
    """The LightningModule that trains ``model`` as its capabilities ask, configured by ``train``."""
    return TRAINING_SYSTEMS.get(model.capabilities.training)(model, train)


__all__ = ["build_system"]
