"""How evaluation and reports run a model: on its own device, in eval mode, seeded.

Evaluation reads where a model lives and follows it; it never chooses a device.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer; CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextmanager
def inference(model: nn.Module, seed: int) -> Iterator[None]:
    """``eval()``, no gradients, a seeded RNG; the caller's mode and RNG state come back afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed)
            yield
    finally:
        model.train(was_training)
