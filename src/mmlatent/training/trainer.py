"""Builds the Lightning Trainer of a run from its typed config: one place for callbacks and logs."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from mmlatent.config import ConfigError, TrainConfig
from mmlatent.run import PROGRESS_DIR, RESUME_CHECKPOINT
from mmlatent.training.callbacks import NaNGuard, ResumeCheckpoint, WeightEMA
from mmlatent.training.distributed import ReleaseProcessGroup
from mmlatent.training.progress import SampleGrids

MONITOR = "val/loss"
LOG_CSV = Path("logs") / "metrics.csv"
"""Lightning's CSV log of a run (relative to the run directory): the report's loss curves."""
DDP_STRATEGIES = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


def build_trainer(
    cfg: TrainConfig,
    run_dir: Path,
    *,
    has_validation: bool = True,
    system: L.LightningModule | None = None,
    seed: int = 0,
) -> L.Trainer:
    """The trainer for ``system`` (what it monitors, whether it optimises by hand, whether DDP
    must look for unused parameters: read from the system), configured by ``cfg``."""
    monitor = getattr(system, "monitor", MONITOR) if has_validation else None
    manual = system is not None and not system.automatic_optimization
    callbacks: list[L.Callback] = []
    if cfg.ema_decay > 0:
        if manual:
            raise ConfigError(
                "train.ema_decay averages the weights of models trained by their own objective; "
                "a GAN averages its generator by train.adversarial.ema_decay"
            )
        # First: the average takes each step before a resumable checkpoint saves it.
        callbacks.append(WeightEMA(cfg.ema_decay))
    callbacks += [
        NaNGuard(cfg.max_loss),
        LearningRateMonitor(logging_interval="epoch"),
        ResumeCheckpoint(run_dir / RESUME_CHECKPOINT, cfg.checkpoint_every_n_steps),
        SampleGrids(run_dir / PROGRESS_DIR, seed=seed),
        ReleaseProcessGroup(),
    ]
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best-{epoch}",
        monitor=monitor,
        save_top_k=1,
        save_last=True,
    )
    callbacks.append(checkpoint)
    if monitor is not None and cfg.patience > 0:
        callbacks.append(EarlyStopping(monitor=monitor, patience=cfg.patience, mode="min"))
    return L.Trainer(
        default_root_dir=run_dir,
        max_epochs=cfg.max_epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=strategy(cfg, unused_parameters=getattr(system, "find_unused_parameters", False)),
        precision=cfg.precision,  # type: ignore[arg-type]  # Lightning validates it
        gradient_clip_val=None if manual else cfg.gradient_clip_val,  # manual: the system clips
        limit_train_batches=cfg.limit_train_batches,
        callbacks=callbacks,
        logger=CSVLogger(run_dir, name="logs", version=""),
        enable_progress_bar=cfg.progress_bar,
        enable_model_summary=False,
        log_every_n_steps=10,
        num_sanity_val_steps=0,
        # The data module shards its own loaders under DDP: the training order keeps its place
        # in an epoch for resuming, which a sampler Lightning wrapped around it would not.
        use_distributed_sampler=False,
    )


def strategy(cfg: TrainConfig, *, unused_parameters: bool) -> str:
    """``cfg.strategy``, or its DDP flavour that looks for parameters a backward pass did not
    reach, for systems whose backward passes each reach only part of the model (a GAN's two
    players); several devices under ``auto`` mean DDP."""
    if not unused_parameters:
        return cfg.strategy
    several = cfg.num_nodes > 1 or str(cfg.devices) not in ("1", "auto")
    name = "ddp" if cfg.strategy == "auto" and several else cfg.strategy
    return f"{name}_find_unused_parameters_true" if name in DDP_STRATEGIES else cfg.strategy
