"""The training system of likelihood-based models (VAEs, autoencoders): one optimiser on
``model.loss``.

Lightning stays here: the model only computes ``loss(data, mask, beta=...)``; the schedule (KL
warm-up), penalties (L1), optimiser and logging live in this wrapper. Every setting comes from
the run's :class:`~mmlatent.config.TrainConfig`, where its default lives.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from mmlatent.config import TrainConfig
from mmlatent.models.latent_model import LatentModel
from mmlatent.registry import register_training_system
from mmlatent.training.compiled import CompiledOrEager
from mmlatent.types import Batch


def kl_weight(beta: float, epoch: int | None, warmup_epochs: int) -> float:
    """Linear KL warm-up (Bowman et al., 2016): beta * (epoch + 1) / warmup, capped at beta.

    ``epoch=None`` (outside a trainer, e.g. evaluation) means the end of the schedule.
    """
    if warmup_epochs == 0 or epoch is None:
        return beta
    return beta * min(1.0, (epoch + 1) / warmup_epochs)


@register_training_system("elbo")
class ELBOSystem(L.LightningModule):
    """Minimises ``model.loss`` with Adam (L2 as weight decay, optional L1 and cosine schedule)."""

    def __init__(self, model: LatentModel, train: TrainConfig | None = None) -> None:
        super().__init__()
        self.model = model
        self.train_config = train if train is not None else TrainConfig()
        self.model_loss = CompiledOrEager(model.loss, enabled=self.train_config.compile)
        # Logged beside the run (hparams.yaml); the typed config above is what the code reads.
        self.save_hyperparameters(ignore=["model", "train"])

    def forward(self, batch: Batch) -> Tensor:
        return self.model.loss(batch["data"], batch["mask"], beta=self.beta).total

    @property
    def target_beta(self) -> float:
        """The model's own latent-loss weight: the end of the warm-up."""
        return float(getattr(self.model.config, "beta", 1.0))

    @property
    def beta(self) -> float:
        """The latent-loss weight now: the model's beta, ramped linearly over the warm-up epochs."""
        epoch = self.current_epoch if self._trainer is not None else None
        return kl_weight(self.target_beta, epoch, self.train_config.beta_warmup_epochs)

    def stage_beta(self, stage: str) -> float:
        """Training follows the warm-up; validation and test score the objective the run aims at,
        so early stopping and the best checkpoint compare every epoch on one scale (scored at
        the ramped weight, the warm-up's early epochs look best and a run stops there)."""
        return self.beta if stage == "train" else self.target_beta

    def _common_step(self, batch: Batch, stage: str) -> Tensor:
        # Validation and test run plainly: compiling their no-grad graphs would cost more than
        # their few batches take.
        loss_of = self.model_loss if stage == "train" else self.model.loss
        out = loss_of(batch["data"], batch["mask"], beta=self.stage_beta(stage))
        loss = out.total
        if stage == "train" and self.train_config.l1 > 0:
            penalty = sum(p.abs().sum() for p in self.model.parameters())
            loss = loss + self.train_config.l1 * penalty
        batch_size = len(batch["label"])
        on_step = stage == "train"
        self.log(
            f"{stage}/loss",
            loss,
            prog_bar=True,
            on_step=on_step,
            on_epoch=True,
            batch_size=batch_size,
            sync_dist=stage != "train",
        )
        for name, value in out.terms.items():
            self.log(
                f"{stage}/{name}",
                value.detach(),
                on_step=False,
                on_epoch=True,
                batch_size=batch_size,
                sync_dist=stage != "train",
            )
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._common_step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._common_step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._common_step(batch, "test")

    def configure_optimizers(self) -> Any:
        cfg = self.train_config
        # Adam's weight_decay adds wd * w to the gradient: the classic L2 penalty. The fused
        # kernel updates every parameter in one call: a step costs a quarter of the operator
        # launches of the per-parameter loop (benchmarks/speed.py counts them).
        optimizer = torch.optim.Adam(
            self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True
        )
        if cfg.lr_schedule == "constant":
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=self.trainer.max_epochs or cfg.max_epochs
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": schedule, "interval": "epoch"},
        }
