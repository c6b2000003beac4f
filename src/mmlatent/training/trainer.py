"""Builds the Lightning Trainer of a run from its typed config: one place for callbacks and logs."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from mmlatent.config import TrainConfig
from mmlatent.training.callbacks import NaNGuard

MONITOR = "val/loss"


def build_trainer(cfg: TrainConfig, run_dir: Path, *, has_validation: bool = True) -> L.Trainer:
    callbacks: list[L.Callback] = [NaNGuard(), LearningRateMonitor(logging_interval="epoch")]
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best-{epoch}",
        monitor=MONITOR if has_validation else None,
        save_top_k=1,
        save_last=True,
    )
    callbacks.append(checkpoint)
    if has_validation and cfg.patience > 0:
        callbacks.append(EarlyStopping(monitor=MONITOR, patience=cfg.patience, mode="min"))
    return L.Trainer(
        default_root_dir=run_dir,
        max_epochs=cfg.max_epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=cfg.strategy,
        precision=cfg.precision,  # type: ignore[arg-type]  # Lightning validates it
        gradient_clip_val=cfg.gradient_clip_val,
        limit_train_batches=cfg.limit_train_batches,
        callbacks=callbacks,
        logger=CSVLogger(run_dir, name="logs", version=""),
        enable_progress_bar=cfg.progress_bar,
        enable_model_summary=False,
        log_every_n_steps=10,
        num_sanity_val_steps=0,
    )
