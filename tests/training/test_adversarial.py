"""The adversarial training system: which network each optimiser moves, Lightning's step count,
mixed precision, clipping, divergence, sample grids, and conditional runs end to end."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from mmlatent.config import RunConfig
from mmlatent.models.gan import AdversarialModel
from mmlatent.run import Run
from mmlatent.training.callbacks import NonFiniteLossError
from mmlatent.training.fit import fit

GAN = [
    "model.name=gan",
    "model.options={latent_dim: 4, hidden_dim: 16, modality: image}",
    "train.max_epochs=1",
    "train.progress_bar=false",
    "data.batch_size=8",
]


def config(*overrides: str) -> RunConfig:
    return RunConfig().with_overrides([*GAN, *overrides])


class Snapshots(L.Callback):
    """The model's weights (parameters, and the average's, which no optimiser holds) before the
    first batch and after each; BatchNorm statistics are not weights."""

    def __init__(self) -> None:
        self.states: list[dict[str, torch.Tensor]] = []
        self.trainer: L.Trainer | None = None

    def _take(self, pl_module: L.LightningModule) -> None:
        weights = pl_module.model.named_parameters()  # the average's too
        self.states.append({k: v.detach().clone() for k, v in weights})

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.trainer = trainer
        if not self.states:
            self._take(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._take(pl_module)


def one_batch(tiny_data, tmp_path, trainers_with, *overrides: str) -> tuple[list[dict], L.Trainer]:
    """Fit one batch with a snapshot callback added to the run's trainer."""
    snapshots = Snapshots()
    with trainers_with(snapshots):
        fit(config("train.limit_train_batches=1", *overrides), tmp_path, data=tiny_data)
    assert snapshots.trainer is not None
    return snapshots.states, snapshots.trainer


def changed(before: dict, after: dict, prefix: str) -> bool:
    keys = [k for k in before if k.startswith(prefix) and before[k].is_floating_point()]
    assert keys, prefix
    return any(not torch.equal(before[k], after[k]) for k in keys)


def test_each_optimiser_moves_its_own_player_only(tiny_data, tmp_path, trainers_with) -> None:
    # n_critic 2: the first batch trains the discriminator alone
    (before, after), _ = one_batch(
        tiny_data, tmp_path / "d", trainers_with, "train.adversarial.n_critic=2"
    )
    assert changed(before, after, "discriminator.")
    assert not changed(before, after, "generator.")
    assert not changed(before, after, "generator_average.")
    d_only = after
    # n_critic 1: the same discriminator step, then the generator's, which leaves D alone
    (before, after), _ = one_batch(tiny_data, tmp_path / "dg", trainers_with)
    assert changed(before, after, "generator.") and changed(before, after, "generator_average.")
    for key, value in d_only.items():
        if key.startswith("discriminator."):
            assert torch.equal(after[key], value), key


def test_global_step_counts_both_players_and_the_generator_has_its_own_count(
    tiny_data, tmp_path, trainers_with
) -> None:
    _, trainer = one_batch(
        tiny_data, tmp_path, trainers_with, "train.limit_train_batches=3"
    )  # 3 batches: 3 discriminator + 3 generator steps
    assert trainer.global_step == 6
    assert trainer.callback_metrics["train/generator_steps"].item() == 3
    model = trainer.lightning_module.model
    assert isinstance(model, AdversarialModel) and int(model.ema_updates) == 3
    # held-out diagnostics, not a monitored loss
    assert {"val/d_real", "val/d_fake"} <= set(trainer.callback_metrics)


def test_bf16_mixed_precision_and_manual_clipping_train_a_wgan_gp(tiny_data, tmp_path) -> None:
    cfg = config(
        "train.precision=bf16-mixed",
        "train.gradient_clip_val=1.0",
        "train.limit_train_batches=2",
        "model.options={latent_dim: 4, hidden_dim: 16, modality: image, loss: wgan-gp, "
        "spectral_norm: true}",
    )
    run = fit(cfg, tmp_path / "run", data=tiny_data)
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    out = run.model.generate(3)["image"]
    assert out.shape == (3, 1, 28, 28) and torch.isfinite(out).all()


def test_a_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tiny_data, tmp_path, monkeypatch
) -> None:
    real = AdversarialModel.discriminator_loss

    def diverge_in_epoch_1(self, data, mask):
        out = real(self, data, mask)
        if int(self.ema_updates) > 2:  # past the first epoch's 2 generator steps
            out.total = out.total + 1e9
        return out

    monkeypatch.setattr(AdversarialModel, "discriminator_loss", diverge_in_epoch_1)
    cfg = config("train.max_epochs=3", "train.limit_train_batches=2")
    with pytest.raises(NonFiniteLossError, match="diverging") as caught:
        fit(cfg, tmp_path / "run", data=tiny_data)
    assert "epoch 1" in str(caught.value) and "last.ckpt" in str(caught.value)
    kept = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    assert kept["epoch"] == 0
    assert all(
        torch.isfinite(v).all() for v in kept["state_dict"].values() if v.is_floating_point()
    )


@pytest.mark.parametrize(
    ("name", "options", "grid"),
    [
        ("gan", "{latent_dim: 4, hidden_dim: 16, modality: audio}", "audio"),
        ("cgan", "{latent_dim: 4, hidden_dim: 16, condition: text, modality: image}", "image"),
        ("cgan", "{latent_dim: 4, hidden_dim: 16, condition: audio, modality: image}", "image"),
        ("cgan", "{latent_dim: 4, hidden_dim: 16, condition: text, modality: audio}", "audio"),
        ("mopoe", "{latent_dim: 4, hidden_dim: 16}", "image"),
    ],
)
def test_every_epoch_writes_a_sample_grid(tiny_data, tmp_path, name, options, grid) -> None:
    cfg = config(
        f"model.name={name}", f"model.options={options}", "train.max_epochs=2"
    ).with_overrides(["train.limit_train_batches=2"])
    run = fit(cfg, tmp_path / "run", data=tiny_data)
    pictures = sorted(p.name for p in (run.path / "progress").iterdir())
    assert f"epoch-000-{grid}.png" in pictures and f"epoch-001-{grid}.png" in pictures
    reloaded = Run.load(run.path)
    for sources, target in reloaded.model.directions():
        given = {m: tiny_data.tensors[m][:3] for m in sources}
        out = reloaded.model.generate(given=given, targets=[target])
        assert out[target].shape == (3, *tiny_data.specs[target].shape)


@pytest.mark.slow
def test_ddp_spawn_on_two_cpu_processes_trains_a_gan(tiny_data, tmp_path) -> None:
    # Each backward reaches one player only: without find_unused_parameters DDP stops.
    cfg = config(
        "train.accelerator=cpu", "train.devices=2", "train.strategy=ddp_spawn", "data.batch_size=4"
    )
    run = fit(cfg, tmp_path / "ddp", data=tiny_data)
    assert int(run.model.ema_updates) > 0
