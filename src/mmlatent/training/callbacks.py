"""Callbacks that stop a run with a message instead of writing garbage."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or inf."""


class NaNGuard(L.Callback):
    """Stop at the first non-finite training loss, naming the epoch, step and loss terms."""

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss).all():
            terms = {
                k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")
            }
            raise NonFiniteLossError(
                f"training loss became {float(loss)} at epoch {trainer.current_epoch}, step "
                f"{trainer.global_step} (batch {batch_idx}); last logged terms: {terms}. "
                "Lower train.lr, set train.gradient_clip_val, or check the data for NaN."
            )
