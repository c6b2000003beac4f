"""Pipeline steps shared by the CLI and the API."""

import pytest
import torch

from mmlatent.config import RunConfig
from mmlatent.models import build_model
from mmlatent.run import Run
from mmlatent.run_samplers import sampler_path
from mmlatent.workflows import fit_sampler


def test_a_run_fits_each_sampler_once_and_saves_it(tiny_data, tmp_path):
    model = build_model("mopoe", tiny_data.specs, {"latent_dim": 4, "hidden_dim": 16})
    run = Run(path=tmp_path, config=RunConfig(), model=model, modalities=tiny_data.modalities)
    first = fit_sampler(run, tiny_data, "gmm", n_components=2)
    assert fit_sampler(run, tiny_data, "gmm", n_components=2) is first
    assert sampler_path(run, "gmm").is_file() and first.info["n_components"] == 2
    z = first.sample(5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5, 4)
    # a fresh Run (nothing in memory) loads the saved sampler instead of fitting again
    reloaded = Run(path=tmp_path, config=RunConfig(), model=model, modalities=run.modalities)
    again = fit_sampler(reloaded, None, "gmm")
    assert torch.equal(again.sample(5, generator=torch.Generator().manual_seed(0)), z)
    with pytest.raises(ValueError, match="fit-sampler"):  # other options: refit explicitly
        fit_sampler(reloaded, tiny_data, "gmm", n_components=3)
