"""Ends a DDP run's process group in order, so that a finished rank cannot abort at exit."""

from __future__ import annotations

import lightning as L
import torch.distributed as dist


class ReleaseProcessGroup(L.Callback):
    """Once fitting has succeeded, every rank meets at a barrier and the process group is
    destroyed while the interpreter is still whole.

    Left to the interpreter's exit, a gloo rank that finished first now and then aborted
    ("terminate called without an active exception") while the other was still running, and
    a run whose training had succeeded failed. Only on success: after an exception one rank may
    never reach the barrier. Lightning starts a new group for a later fit in the same process.
    """

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size > 1 and dist.is_available() and dist.is_initialized():
            trainer.strategy.barrier("release_process_group")  # on the right device for NCCL
            dist.destroy_process_group()
