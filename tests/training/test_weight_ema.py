"""A moving average of the weights (``train.ema_decay``): what it averages, what a run keeps,
and where it is refused."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from safetensors.torch import load_file

from mmlatent.config import ConfigError, RunConfig
from mmlatent.nn.adversarial import ramped_decay
from mmlatent.training.fit import fit

TINY = [
    "train.max_epochs=1",
    "data.batch_size=8",
    "train.progress_bar=false",
    "model.options={latent_dim: 4, hidden_dim: 16}",
]


class StepWeights(L.Callback):
    """The model's parameters after every optimiser step (added after the run's callbacks)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        weights = pl_module.model.named_parameters()
        self.steps.append({k: v.detach().clone() for k, v in weights})


def fit_recording(tiny_data, path, trainers_with, *overrides: str):
    recorder = StepWeights()
    with trainers_with(recorder):
        run = fit(RunConfig().with_overrides([*TINY, *overrides]), path, data=tiny_data)
    return run, recorder.steps


def expected_average(steps: list[dict[str, torch.Tensor]], decay: float) -> dict:
    """The first step's weights, then each later step folded in with the ramped decay."""
    average = {k: v.clone() for k, v in steps[0].items()}
    for k, weights in enumerate(steps[1:], start=1):
        d = ramped_decay(decay, k)
        for name, value in weights.items():
            average[name] = d * average[name] + (1 - d) * value
    return average


def test_the_saved_model_is_the_ramped_average_of_every_step(tiny_data, tmp_path, trainers_with):
    run, steps = fit_recording(tiny_data, tmp_path / "run", trainers_with, "train.ema_decay=0.9")
    assert len(steps) >= 3
    saved = load_file(str(run.path / "model.safetensors"))
    for name, value in expected_average(steps, 0.9).items():
        torch.testing.assert_close(saved[name], value, rtol=1e-5, atol=1e-6, msg=name)
    # ... and not the last step's weights, which training moved on its own.
    assert any(not torch.allclose(saved[n], v, atol=1e-6) for n, v in steps[-1].items())


def test_without_it_the_saved_model_is_the_last_step(tiny_data, tmp_path, trainers_with):
    run, steps = fit_recording(tiny_data, tmp_path / "run", trainers_with)
    saved = load_file(str(run.path / "model.safetensors"))
    for name, value in steps[-1].items():
        assert torch.equal(saved[name], value), name


def test_checkpoints_hold_the_average_and_the_weights_training_continues_from(
    tiny_data, tmp_path, trainers_with
):
    run, steps = fit_recording(tiny_data, tmp_path / "run", trainers_with, "train.ema_decay=0.9")
    state = torch.load(
        run.path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )
    saved = load_file(str(run.path / "model.safetensors"))
    for name, value in steps[-1].items():
        assert torch.equal(state["current_model_state"][f"model.{name}"], value), name
        assert torch.equal(state["state_dict"][f"model.{name}"], saved[name]), name


@pytest.mark.parametrize("decay", ["1", "-0.1", "1.5"])
def test_a_decay_outside_0_to_1_is_refused_by_name(decay):
    with pytest.raises(ConfigError, match=r"train\.ema_decay"):
        RunConfig().with_overrides([f"train.ema_decay={decay}"])


def test_a_gan_is_pointed_to_its_own_generator_average(tiny_data, tmp_path):
    gan = [
        "model.name=gan",
        "model.options={latent_dim: 4, hidden_dim: 16, modality: image}",
        "train.max_epochs=1",
        "train.progress_bar=false",
        "train.ema_decay=0.9",
    ]
    with pytest.raises(ConfigError, match=r"train\.adversarial\.ema_decay"):
        fit(RunConfig().with_overrides(gan), tmp_path / "run", data=tiny_data)
