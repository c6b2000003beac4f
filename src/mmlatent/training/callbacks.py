"""Callbacks that stop a run with a message instead of writing garbage, and keep it resumable."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging
from torch import Tensor

from mmlatent.atomic import commit
from mmlatent.nn.adversarial import ramped_decay
from mmlatent.training.resume import rng_states, set_rng_states

log = logging.getLogger(__name__)


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


class TrainingInterrupted(Exception):
    """SIGTERM or SIGINT stopped training after a resumable checkpoint was saved."""

    def __init__(self, signal_name: str, epoch: int, step: int, checkpoint: Path) -> None:
        self.signal_name = signal_name
        self.epoch = epoch
        self.step = step
        self.checkpoint = checkpoint
        self.signal_number = int(getattr(signal, signal_name))
        super().__init__(
            f"{signal_name} received: stopped at epoch {epoch}, step {step}; "
            f"resumable checkpoint saved to {checkpoint}"
        )


class WeightEMA(WeightAveraging):
    """An exponential moving average of a model's weights, kept beside them by Lightning's
    ``WeightAveraging``: validation, the best and last checkpoints, and so the saved model,
    use the average; training steps the weights themselves. Buffers are copied, not averaged
    (as a GAN's generator average does), and the decay ramps up (``ramped_decay``). A
    resumable checkpoint holds both, so a resumed run averages on as if never stopped."""

    def __init__(self, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        super().__init__(use_buffers=False, multi_avg_fn=self._lerp)

    @torch.no_grad()
    def _lerp(self, averaged: list[Tensor], current: list[Tensor], updates: Tensor) -> None:
        weight = 1.0 - ramped_decay(self.decay, int(updates))
        torch._foreach_lerp_(averaged, current, weight)


class ResumeCheckpoint(L.Callback):
    """Keeps ``checkpoints/resume.ckpt`` current: every ``every_n_steps`` steps, and after the
    step in progress when SIGTERM or SIGINT arrives (then training stops with
    :class:`TrainingInterrupted`).

    Saves happen only at the end of a training step inside an epoch (not its last), the point
    from which Lightning resumes exactly; a signal during an epoch's last step or its validation
    is honoured after the next epoch's first step (or the run simply finishes). Under DDP every
    rank stops at the step where any rank has a signal. The state carries the random generators,
    so a resumed run draws the same numbers as one that never stopped. The file is written under
    a temporary name and renamed, so a ``kill -9`` during a save leaves the previous checkpoint
    whole.
    """

    def __init__(self, path: Path, every_n_steps: int) -> None:
        self.path = Path(path)
        self.every_n_steps = every_n_steps
        self.received: str | None = None
        self._rng_to_restore: dict[str, Any] | None = None

    # --- signals -----------------------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Installed after Lightning's own handlers (which only log SIGTERM and exit with 0);
        # Lightning puts the original handlers back when the fit ends.
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_signal)
        if self._rng_to_restore is not None:
            set_rng_states(self._rng_to_restore)
            self._rng_to_restore = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received == "SIGINT" and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: stop now, without a checkpoint
        self.received = signal.Signals(signum).name
        log.warning("%s received: saving a resumable checkpoint after this step", self.received)

    # --- saving ------------------------------------------------------------------------------
    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if batch_idx + 1 >= trainer.num_training_batches:
            # The epoch's end (validation, scheduler step, best checkpoint) is still to come, and
            # Lightning does not replay it from a checkpoint taken here: save at the next step.
            return
        # Under DDP a signal may reach one rank only, or the ranks at different steps: all stop
        # at the same step when any has one (a collective each step; nothing on one process).
        if trainer.strategy.reduce_boolean_decision(self.received is not None, all=False):
            self.save(trainer)
            raise TrainingInterrupted(
                self.received or "SIGTERM",  # or: another rank received one
                trainer.current_epoch,
                trainer.global_step,
                self.path,
            )
        if trainer.global_step % self.every_n_steps == 0:
            self.save(trainer)

    def save(self, trainer: L.Trainer) -> None:
        """Write the checkpoint to a temporary sibling on every rank, rename it on rank 0."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        trainer.save_checkpoint(tmp, weights_only=False)
        if trainer.is_global_zero:
            commit(tmp, self.path)
        trainer.strategy.barrier("resume_checkpoint")

    # --- state in the checkpoint -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_states()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Applied at train start: anything between restoring and training must not draw from them.
        self._rng_to_restore = state_dict["rng"]
