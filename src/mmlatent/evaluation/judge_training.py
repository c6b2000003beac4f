"""The compact Lightning fit behind a judge: quiet, no files, best weights kept in memory.

Kept apart from ``judges.py`` so that loading cached judges never imports Lightning.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset


@dataclass
class FitResult:
    best_epoch: int
    """1-based epoch whose weights were restored."""
    best_val_loss: float


class _ClassifierTask(L.LightningModule):
    """Cross-entropy training of any ``(B, ...) -> (B, n_classes)`` network."""

    def __init__(self, network: nn.Module, lr: float) -> None:
        super().__init__()
        self.network = network
        self.lr = lr

    def forward(self, x: Tensor) -> Tensor:
        return self.network(x)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._common_step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._common_step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)

    def _common_step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss


class _KeepBest(Callback):
    """Copy the network's weights whenever validation loss improves (no checkpoint files)."""

    def __init__(self) -> None:
        self.best_loss = math.inf
        self.best_epoch = 0
        self.state: dict[str, Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loss = float(trainer.callback_metrics["val/loss"])
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, trainer.current_epoch + 1
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}


def fit_classifier(
    network: nn.Module,
    train: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor],
    *,
    seed: int,
    max_epochs: int,
    patience: int,
    batch_size: int,
    lr: float,
) -> FitResult:
    """Train ``network`` in place; early-stop on validation loss and restore the best weights.

    Training also stops once validation loss is below 0.01: the judge is then as sure as it gets,
    and more epochs only cost time.
    """
    task = _ClassifierTask(network, lr)
    shuffle = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(TensorDataset(*train), batch_size, shuffle=True, generator=shuffle)
    val_loader = DataLoader(TensorDataset(*val), batch_size=1024)
    keep_best = _KeepBest()
    with quiet_lightning():
        trainer = L.Trainer(
            max_epochs=max_epochs,
            callbacks=[
                EarlyStopping("val/loss", patience=patience, stopping_threshold=0.01),
                keep_best,
            ],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        trainer.fit(task, train_loader, val_loader)
    if keep_best.state is not None:
        task.load_state_dict(keep_best.state)
    task.cpu()
    return FitResult(keep_best.best_epoch, keep_best.best_loss)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's info banners and data-loader advice while a judge trains."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
