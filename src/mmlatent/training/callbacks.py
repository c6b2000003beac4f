"""Callbacks that stop a run with a message instead of writing garbage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or inf, or diverges past ``train.max_loss``."""


class NaNGuard(L.Callback):
    """Stop at the first non-finite training loss, or the first beyond ``max_loss`` in magnitude
    (a diverging run), naming the epoch, step, loss terms and the last good checkpoint.

    It raises before the epoch ends, so the checkpoint written at the end of the previous epoch
    is never overwritten by diverged weights.
    """

    def __init__(self, max_loss: float | None = None) -> None:
        self.max_loss = max_loss

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        value = float(loss.detach().float().abs().max())
        if not torch.isfinite(loss).all():
            what = f"became {float(loss)}"
        elif self.max_loss is not None and value > self.max_loss:
            what = f"reached {float(loss):.4g}, beyond train.max_loss={self.max_loss:g} (diverging)"
        else:
            return
        terms = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
        raise NonFiniteLossError(
            f"training loss {what} at epoch {trainer.current_epoch}, step "
            f"{trainer.global_step} (batch {batch_idx}); last logged terms: {terms}. "
            f"{_last_good(trainer)}"
            "Lower train.lr, set train.gradient_clip_val, or check the data for NaN."
        )


def _last_good(trainer: L.Trainer) -> str:
    """Where the weights of the last finished epoch are, as a sentence (empty if nowhere)."""
    path = getattr(trainer.checkpoint_callback, "last_model_path", "")
    if not path or not Path(path).is_file():
        return "No epoch finished, so no checkpoint was kept. "
    return (
        f"The last good checkpoint, from the end of epoch {trainer.current_epoch - 1}, is {path}. "
    )
