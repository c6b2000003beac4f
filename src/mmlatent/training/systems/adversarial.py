"""The training system of GANs: two players, two optimisers, Lightning's manual optimisation.

Each batch trains the discriminator once; every ``n_critic``-th batch also trains the generator
and moves the generator's average. The model computes each player's loss
(``discriminator_loss``, ``generator_loss``); this module owns the optimisers, schedule, clipping,
averaging and logging, every setting from the run's :class:`~mmlatent.config.TrainConfig`
(``train.adversarial`` for the GAN-only ones).

Pitfalls of two optimisers in Lightning, and what this module does about them:

- ``trainer.global_step`` counts optimiser steps of *both* players (two or more per batch), so
  nothing here is scheduled on it: the ``n_critic`` rhythm follows the batch index, the average's
  warm-up its own counter, and the generator's steps are logged as ``train/generator_steps``.
- ``self.manual_backward``, never ``loss.backward()``: it applies the precision plugin's loss
  scaling under 16-bit mixed precision; the gradient penalty runs in float32 by itself.
- Each backward reaches one player only (the other's weights are toggled off), so DDP must look
  for unused parameters: ``find_unused_parameters`` tells the trainer factory to ask for it.
- The trainer's ``gradient_clip_val`` is refused under manual optimisation: clipping happens here,
  per optimiser, with ``self.clip_gradients``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor

from mmlatent.config import TrainConfig
from mmlatent.models.base import LossOutput
from mmlatent.models.gan import AdversarialModel
from mmlatent.registry import register_training_system
from mmlatent.types import Batch

LossFunction = Callable[[dict[str, Tensor], dict[str, Tensor]], LossOutput]


@register_training_system("adversarial")
class AdversarialSystem(L.LightningModule):
    """Alternating Adam steps of discriminator and generator (Goodfellow et al. 2014, Alg. 1)."""

    monitor: ClassVar[str | None] = None
    """No validation score ranks a GAN's epochs (its losses measure the game, not the samples):
    the last epoch's weights are kept, and the sample grids of ``progress/`` show how training
    went."""
    find_unused_parameters: ClassVar[bool] = True

    def __init__(self, model: AdversarialModel, train: TrainConfig | None = None) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        self.train_config = train if train is not None else TrainConfig()
        self.save_hyperparameters(ignore=["model", "train"])

    def training_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        optimisers = self.optimizers()
        assert isinstance(optimisers, list)  # [generator's, discriminator's]
        generator_optimiser, discriminator_optimiser = optimisers
        cfg = self.train_config.adversarial
        d = self._step(discriminator_optimiser, self.model.discriminator_loss, batch)
        terms, losses = dict(d.terms), {"d_loss": d.total.detach()}
        if (batch_idx + 1) % cfg.n_critic == 0:
            g = self._step(generator_optimiser, self.model.generator_loss, batch)
            self.model.update_average(cfg.ema_decay)
            terms |= g.terms
            losses["g_loss"] = g.total.detach()
        self._log("train", terms, batch)
        # the generator's own step count (Lightning's global_step counts both players' steps)
        self.log("train/generator_steps", self.model.ema_updates.float(), reduce_fx="max")
        # NaNGuard reads "loss": the sum is non-finite, or huge, as soon as either loss is.
        return {"loss": sum(losses.values()), **losses}  # type: ignore[dict-item]

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        """Diagnostics on held-out rows, not a score to rank epochs by: the discriminator's mean
        logits on real rows and fakes (compare ``val/d_real`` with ``train/d_real``)."""
        self._log("val", self.model.discriminator_scores(batch["data"], batch["mask"]), batch)

    def configure_optimizers(self) -> Any:
        cfg = self.train_config
        betas = tuple(cfg.adversarial.betas)
        optimisers = [
            torch.optim.Adam(player.parameters(), lr=lr, betas=betas, weight_decay=cfg.weight_decay)  # type: ignore[arg-type]
            for player, lr in (
                (self.model.generator, cfg.adversarial.generator_lr),
                (self.model.discriminator, cfg.adversarial.discriminator_lr),
            )
        ]
        if cfg.lr_schedule == "constant":
            return optimisers
        epochs = self.trainer.max_epochs or cfg.max_epochs
        schedules = [
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) for opt in optimisers
        ]
        return optimisers, [{"scheduler": s, "interval": "epoch"} for s in schedules]

    def on_train_epoch_end(self) -> None:
        # Manual optimisation steps no scheduler by itself.
        schedules = self.lr_schedulers()
        for schedule in schedules if isinstance(schedules, list) else [schedules]:
            if schedule is not None:
                schedule.step()

    # -- helpers ----------------------------------------------------------------------------------

    def _step(self, optimiser: Any, loss_of: LossFunction, batch: Batch) -> LossOutput:
        """One update of the player that ``optimiser`` holds; the other player's weights are
        frozen meanwhile, so no gradient reaches (or lingers on) them."""
        with self.toggled_optimizer(optimiser):
            out = loss_of(batch["data"], batch["mask"])
            optimiser.zero_grad()
            self.manual_backward(out.total)
            clip = self.train_config.gradient_clip_val
            if clip is not None:
                self.clip_gradients(
                    optimiser, gradient_clip_val=clip, gradient_clip_algorithm="norm"
                )
            optimiser.step()
        return out

    def _log(self, stage: str, terms: dict[str, Tensor], batch: Batch) -> None:
        for name, value in terms.items():
            self.log(
                f"{stage}/{name}",
                value.detach(),
                prog_bar=name in ("d_loss", "g_loss"),
                on_step=False,
                on_epoch=True,
                batch_size=len(batch["label"]),
                sync_dist=stage != "train",
            )
