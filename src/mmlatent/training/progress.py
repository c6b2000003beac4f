"""Sample grids written at the end of every training epoch, so a person can watch a run learn.

``<run>/progress/epoch-003-image.png``: the same seeded noise (or, for a model that generates
only from a condition, the same validation rows, spread over the split) every epoch, one PNG
per image-like modality (images; log-mels drawn as spectrograms, low frequencies at the bottom).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from PIL import Image
from torch import Tensor

from mmlatent.models.base import GenerativeModel


def tile(images: Tensor, columns: int) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one uint8 picture of ``columns`` per row, 1-pixel gaps:
    (rows * (H + 1) - 1, columns * (W + 1) - 1[, 3])."""
    n, channels, height, width = images.shape
    rows = -(-n // columns)
    canvas = torch.ones(channels, rows * (height + 1) - 1, columns * (width + 1) - 1)
    for i, image in enumerate(images.float().clamp(0, 1).cpu()):
        top, left = (i // columns) * (height + 1), (i % columns) * (width + 1)
        canvas[:, top : top + height, left : left + width] = image
    pixels = (canvas * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # (H', W', C)
    return pixels[..., 0] if channels == 1 else pixels


def progress_samples(model: GenerativeModel, given: dict[str, Tensor], n: int) -> dict[str, Tensor]:
    """What a grid shows: ``n`` free samples, or, for a model that needs a condition, samples
    along its first direction from ``given`` (rows holding that direction's sources)."""
    if model.capabilities.unconditional:
        return model.generate(n)
    sources, target = model.directions()[0]
    return model.generate(given={m: given[m][:n] for m in sources}, targets=[target])


class SampleGrids(L.Callback):
    """Writes ``folder/epoch-{E:03d}-{modality}.png`` after every training epoch (rank 0 only)."""

    def __init__(self, folder: Path, *, n: int = 32, columns: int = 8, seed: int = 0) -> None:
        self.folder = Path(folder)
        self.n, self.columns, self.seed = n, columns, seed

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        model: GenerativeModel = pl_module.model  # type: ignore[assignment]
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=_devices(model)):
                torch.manual_seed(self.seed)
                out = progress_samples(model, self._given(trainer, model), self.n)
        finally:
            model.train(was_training)
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, x in out.items():
            if x.dim() != 4:  # image-like only: (N, C, H, W)
                continue
            kind = model.specs[name].kind
            pixels = tile(x.flip(-2) if kind == "audio" else x, self.columns)
            Image.fromarray(pixels).save(
                self.folder / f"epoch-{trainer.current_epoch:03d}-{name}.png"
            )

    def _given(self, trainer: L.Trainer, model: GenerativeModel) -> dict[str, Tensor]:
        """``n`` validation (else training) rows that hold every modality the model reads,
        evenly spread over the split: a data set stored in label order (``digits`` is) would
        otherwise show one class's conditions only."""
        data: Any = getattr(getattr(trainer, "datamodule", None), "data", None)
        if data is None or model.capabilities.unconditional:
            return {}
        rows = data.splits["val"] if len(data.splits["val"]) else data.splits["train"]
        keep = torch.stack([data.masks[m][rows] for m in model.modalities]).all(0)
        rows = spread(rows[keep], self.n)
        return {m: data.tensors[m][rows].to(model.device) for m in model.modalities}


def spread(rows: Tensor, n: int) -> Tensor:
    """At most ``n`` of ``rows``, evenly spaced from the first to the last, in order."""
    if len(rows) <= n:
        return rows
    return rows[torch.linspace(0, len(rows) - 1, n).round().long()]


def _devices(model: GenerativeModel) -> list[int]:
    """CUDA devices whose generators the seeded draw touches (fork_rng restores them)."""
    device = model.device
    return [device.index or 0] if device.type == "cuda" else []
