"""The same run on two processes through Lightning's DDP (spawned, as pytest needs)."""

import lightning as L
import pytest
import torch

from mmlatent.config import RunConfig
from mmlatent.models import build_model
from mmlatent.run import Run
from mmlatent.training.fit import fit


@pytest.mark.slow
def test_ddp_spawn_on_two_cpu_processes_trains_and_saves(tiny_data, tmp_path):
    config = RunConfig().with_overrides(
        [
            "train.max_epochs=2",
            "train.progress_bar=false",
            "train.accelerator=cpu",
            "train.devices=2",
            "train.strategy=ddp_spawn",
            "data.batch_size=4",
            "model.options={latent_dim: 4, hidden_dim: 16}",
        ]
    )
    run = fit(config, tmp_path / "ddp", data=tiny_data)
    L.seed_everything(config.seed, verbose=False)  # fit's seeding: the initial weights again
    initial = build_model("mopoe", tiny_data.specs, config.model.options).state_dict()
    saved = Run.load(run.path).model.state_dict()
    best = next((run.path / "checkpoints").glob("best*.ckpt"))
    trained = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    for name, weights in saved.items():
        assert torch.equal(weights, trained["model." + name]), (
            name
        )  # the workers' weights came back
    assert any(not torch.equal(saved[n], initial[n]) for n in saved), "DDP training changed nothing"
