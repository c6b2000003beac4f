"""Pipeline steps shared by the CLI and the API."""

import torch

from mmlatent.config import RunConfig
from mmlatent.models import build_model
from mmlatent.run import Run
from mmlatent.workflows import fit_sampler


def test_a_run_fits_each_sampler_once(tiny_data, tmp_path):
    model = build_model("mopoe", tiny_data.specs, {"latent_dim": 4, "hidden_dim": 16})
    run = Run(path=tmp_path, config=RunConfig(), model=model, modalities=tiny_data.modalities)
    first = fit_sampler(run, tiny_data, "gmm", n_components=2)
    assert fit_sampler(run, tiny_data, "gmm", n_components=2) is first
    other = fit_sampler(run, tiny_data, "gmm", n_components=3)
    assert other is not first and other.mixture.n_components == 3
    z = first.sample(5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (5, 4)
