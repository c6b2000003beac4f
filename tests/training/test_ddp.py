"""A run on two processes through Lightning's DDP (spawned, as pytest needs) trains, brings
its weights back and releases its process group; stopped mid-epoch, it resumes to the weights
of one that never stopped."""

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from safetensors.torch import load_file

from mmlatent.config import RunConfig
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.models import build_model
from mmlatent.run import RESUME_CHECKPOINT, Run
from mmlatent.training.callbacks import ResumeCheckpoint
from mmlatent.training.fit import fit, resume
from mmlatent.training.resume import read_checkpoint

DDP_SPAWN = [
    "train.max_epochs=2",
    "train.progress_bar=false",
    "train.accelerator=cpu",
    "train.devices=2",
    "train.strategy=ddp_spawn",
    "data.batch_size=4",  # 20 training rows, 10 a rank: 3 steps an epoch
    "model.options={latent_dim: 4, hidden_dim: 16}",
]
RESUME_TOLERANCE = 1e-5
"""Largest weight difference allowed between a resumed DDP run and one that never stopped."""


def assert_trained_and_brought_back(run: Run, tiny_data: MultimodalData) -> None:
    """The workers' best weights came back to the saved run, and they differ from the start."""
    L.seed_everything(run.config.seed, verbose=False)  # fit's seeding: the initial weights again
    initial = build_model("mopoe", tiny_data.specs, run.config.model.options).state_dict()
    saved = Run.load(run.path).model.state_dict()
    best = next((run.path / "checkpoints").glob("best*.ckpt"))
    trained = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    for name, weights in saved.items():
        assert torch.equal(weights, trained["model." + name]), name
    assert any(not torch.equal(saved[n], initial[n]) for n in saved), "DDP training changed nothing"


class SignalDuringStep(L.Callback):
    """Acts as a SIGTERM reaching rank 0 only during training step ``step`` (1-based)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step - 1 and trainer.global_rank == 0:
            for callback in trainer.callbacks:  # type: ignore[attr-defined]
                if isinstance(callback, ResumeCheckpoint):
                    callback.received = "SIGTERM"


class GroupAtTeardown(L.Callback):
    """Writes, per rank, whether the process group still stood when the fit was torn down."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        standing = torch.distributed.is_initialized()
        (self.folder / f"rank{trainer.global_rank}").write_text(str(standing))


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    """The weights of the last step (``last.ckpt``) and the saved ones, under one name each."""
    last = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    saved = {f"saved.{k}": v for k, v in load_file(str(run / "model.safetensors")).items()}
    return {**last["state_dict"], **saved}


@pytest.mark.slow
def test_ddp_spawn_trains_on_two_cpu_processes_and_resumes_a_stopped_run(
    tiny_data, tmp_path: Path, trainers_with
) -> None:
    """One test for both, as each DDP fit spawns two processes that import everything again."""
    config = RunConfig().with_overrides(DDP_SPAWN)
    with trainers_with(GroupAtTeardown(tmp_path)):
        whole = fit(config, tmp_path / "whole", data=tiny_data)
    assert_trained_and_brought_back(whole, tiny_data)
    # Both ranks released the group before exiting, rather than leaving it to the interpreter.
    assert [(tmp_path / f"rank{r}").read_text() for r in (0, 1)] == ["False", "False"]
    reference = final_weights(whole.path)

    run = tmp_path / "stopped"
    stopped = pytest.raises(Exception, match="SIGTERM received")
    with trainers_with(SignalDuringStep(5)), stopped:
        fit(config, run, data=tiny_data)
    state = read_checkpoint(run / RESUME_CHECKPOINT)
    assert (state["epoch"], state["global_step"]) == (1, 5)  # the second of 3 steps of epoch 1
    # Both ranks' place in the epoch, as one number: 2 batches of 4 rows on each of 2 ranks.
    assert state["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [
        {"epoch": 1, "served": 16}
    ]

    resumed = final_weights(resume(run, data=tiny_data).path)
    assert resumed.keys() == reference.keys()
    worst = max(float((resumed[k] - reference[k]).abs().max()) for k in reference)
    assert worst <= RESUME_TOLERANCE, f"resumed weights differ by up to {worst:.3g}"
    print(f"largest weight difference after resuming under DDP: {worst:.3g}")
