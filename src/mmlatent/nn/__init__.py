"""Per-modality networks (looked up by kind) and likelihoods.

Importing this package registers every kind: one module per kind below.
"""

from mmlatent.nn import audio, image, text, vector  # noqa: F401 - each registers its networks
from mmlatent.nn.build import (
    BODIES,
    DECODERS,
    build_body,
    build_decoder,
    build_encoder,
    register_networks,
)
from mmlatent.nn.likelihoods import event_size, is_unit_interval, log_likelihood, to_data

__all__ = [
    "BODIES",
    "DECODERS",
    "build_body",
    "build_decoder",
    "build_encoder",
    "event_size",
    "is_unit_interval",
    "log_likelihood",
    "register_networks",
    "to_data",
]
