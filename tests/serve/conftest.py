"""A tiny untrained run saved to disk and a serving state on it: handlers need no training."""

from __future__ import annotations

import pytest
import torch

from mmlatent.config import RunConfig
from mmlatent.models import build_model
from mmlatent.run import Run
from mmlatent.serve.handlers import ServeState

TINY_WORDS = "zero one two three four five"


@pytest.fixture
def tiny_run(tiny_data, tmp_path) -> Run:
    """Seeded: the untrained weights, and so what the handlers make of them (a silent clip or
    not), must not depend on which tests ran before."""
    torch.manual_seed(0)
    model = build_model("mopoe", tiny_data.specs, {"latent_dim": 4, "hidden_dim": 16})
    config = RunConfig().with_overrides(["eval.sampler_options={n_components: 2}"])
    Run(path=tmp_path / "run", config=config, model=model, modalities=tiny_data.modalities).save()
    return Run.load(tmp_path / "run")


@pytest.fixture
def state(tiny_run, tiny_data, tmp_path) -> ServeState:
    return ServeState(run=tiny_run, out_dir=tmp_path / "served", data=tiny_data)
