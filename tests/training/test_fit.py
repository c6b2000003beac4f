"""Training through Lightning: run directory, reload, seeding, penalties, NaN guard."""

import numpy as np
import pytest
import torch

from mmlatent.config import RunConfig, TrainConfig
from mmlatent.run import Run, RunError
from mmlatent.training.callbacks import NonFiniteLossError
from mmlatent.training.fit import fit
from mmlatent.training.systems import build_system
from mmlatent.training.systems.elbo import ELBOSystem, kl_weight

TINY = [
    "train.max_epochs=2",
    "data.batch_size=8",
    "train.progress_bar=false",
    "model.options={latent_dim: 4, hidden_dim: 16}",
]


@pytest.fixture
def tiny_run(tiny_data, tmp_path):
    return fit(RunConfig().with_overrides(TINY), tmp_path / "run", data=tiny_data)


def test_fit_writes_a_complete_run_directory(tiny_run):
    names = {p.name for p in tiny_run.path.iterdir()}
    assert {"config.yaml", "modalities.json", "model.safetensors", "checkpoints", "logs"} <= names
    history = (tiny_run.path / "logs" / "metrics.csv").read_text()
    assert "val/loss" in history and "train/loss" in history
    assert any(p.name.startswith("best") for p in (tiny_run.path / "checkpoints").iterdir())


def test_cosine_schedule_lowers_the_logged_learning_rate(tiny_run):
    import csv

    with (tiny_run.path / "logs" / "metrics.csv").open() as f:
        rates = [float(row["lr-Adam"]) for row in csv.DictReader(f) if row.get("lr-Adam")]
    assert rates[0] == pytest.approx(tiny_run.config.train.lr)
    assert rates[-1] < rates[0]


def test_reloaded_run_generates_identically_for_a_seed(tiny_run):
    again = Run.load(tiny_run.path)
    given = {"text": ["zero one"]}
    a = tiny_run.generate(given=given, targets=["image", "audio"], n=3, seed=5)
    b = again.generate(given=given, targets=["image", "audio"], n=3, seed=5)
    for x, y in zip(a["image"], b["image"], strict=True):
        assert np.array_equal(x, y)
    assert np.allclose(a["audio"][0].samples, b["audio"][0].samples)
    assert again.config == tiny_run.config


def test_run_writes_real_files(tiny_run, tmp_path):
    out = tiny_run.generate(n=2, seed=0)
    written = tiny_run.write_outputs(out, tmp_path / "samples")
    assert sorted(p.suffix for p in written) == [".png", ".png", ".txt", ".txt", ".wav", ".wav"]
    assert all(p.stat().st_size > 0 for p in written)


def test_same_seed_same_weights(tiny_data, tmp_path):
    a = fit(RunConfig().with_overrides(TINY), tmp_path / "a", data=tiny_data)
    b = fit(RunConfig().with_overrides(TINY), tmp_path / "b", data=tiny_data)
    for (name, p), q in zip(
        a.model.state_dict().items(), b.model.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name


def test_fit_refuses_to_overwrite_a_run(tiny_run, tiny_data):
    with pytest.raises(FileExistsError, match="already holds a run"):
        fit(tiny_run.config, tiny_run.path, data=tiny_data)


def test_missing_run_files_are_named(tmp_path):
    with pytest.raises(RunError, match=r"config\.yaml"):
        Run.load(tmp_path)


def test_non_finite_loss_stops_the_run_with_a_message(tiny_data, tmp_path):
    tiny_data.tensors["audio"][:] = float("nan")  # present values that are garbage
    with pytest.raises(NonFiniteLossError, match="epoch 0"):
        fit(RunConfig().with_overrides(TINY), tmp_path / "nan", data=tiny_data)


def test_kl_warm_up_schedule():
    assert [kl_weight(2.0, e, 4) for e in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert kl_weight(2.0, None, 4) == 2.0
    assert kl_weight(2.0, 0, 0) == 2.0


def test_warm_up_ramps_training_while_validation_scores_the_full_objective(tiny_data):
    """Scored at the ramped weight, the warm-up's first epochs would look best to early stopping
    and the best checkpoint; validation and test must use the model's own beta."""
    from types import SimpleNamespace

    from mmlatent.models import build_model

    model = build_model("mopoe", tiny_data.specs, {"latent_dim": 4, "hidden_dim": 16, "beta": 2.0})
    system = ELBOSystem(model, TrainConfig(beta_warmup_epochs=4))
    system._trainer = SimpleNamespace(current_epoch=0)  # the first epoch of a fit
    system.log = lambda *args, **kwargs: None
    batch = tiny_data.split_batch("val")
    for stage, beta in [("train", 0.5), ("val", 2.0), ("test", 2.0)]:
        torch.manual_seed(0)
        scored = system._common_step(batch, stage)
        torch.manual_seed(0)
        expected = model.loss(batch["data"], batch["mask"], beta=beta).total
        assert scored.item() == pytest.approx(expected.item(), rel=1e-6), stage


def test_module_uses_the_model_beta_and_adds_the_l1_penalty(tiny_data):
    from mmlatent.models import build_model

    model = build_model("mopoe", tiny_data.specs, {"latent_dim": 4, "hidden_dim": 16, "beta": 2.0})
    warm = ELBOSystem(model, TrainConfig(beta_warmup_epochs=4))
    assert warm.beta == 2.0  # no trainer: end of schedule
    batch = tiny_data.split_batch("train")
    torch.manual_seed(0)
    plain = ELBOSystem(model, TrainConfig())._common_step(batch, "val")
    torch.manual_seed(0)
    penalised = ELBOSystem(model, TrainConfig(l1=1e-3))._common_step(batch, "train")
    l1 = sum(p.abs().sum() for p in model.parameters())
    assert penalised.item() == pytest.approx(plain.item() + 1e-3 * l1.item(), rel=1e-4)


def test_the_model_chooses_its_training_system(tiny_data):
    from mmlatent.models import build_model

    model = build_model("mopoe", tiny_data.specs, {"latent_dim": 4, "hidden_dim": 16})
    system = build_system(model, TrainConfig(lr=3e-4, lr_schedule="constant"))
    assert isinstance(system, ELBOSystem) and system.model is model
    optimiser = system.configure_optimizers()
    assert optimiser.param_groups[0]["lr"] == 3e-4  # the TrainConfig reached it whole


@pytest.mark.parametrize(("split", "rows"), [("train", "training"), ("val", "validation")])
def test_a_complete_rows_model_refuses_holes_it_would_train_or_validate_on(
    tiny_data, tmp_path, split, rows
):
    """JMVAE's loss needs every modality, in validation as in training: both are checked up
    front, by name, instead of failing after the first epoch. The test split may have holes
    (evaluation scores complete rows only)."""
    config = RunConfig().with_overrides([*TINY, "model.name=jmvae", "train.max_epochs=1"])
    tiny_data.masks["audio"][:] = True
    tiny_data.masks["audio"][tiny_data.splits["test"][0]] = False
    fit(config, tmp_path / "test-holes", data=tiny_data)
    tiny_data.masks["audio"][tiny_data.splits[split][:2]] = False
    with pytest.raises(ValueError, match=f"complete rows only, but 2 {rows} rows lack 'audio'"):
        fit(config, tmp_path / "refused", data=tiny_data)
