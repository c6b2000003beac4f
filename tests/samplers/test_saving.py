"""Saved samplers reload to identical draws, from safetensors only; anything else is refused."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from test_samplers import fitted

from mmlatent.registry import SAMPLERS
from mmlatent.samplers import SamplerFileError, load_sampler


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_a_saved_sampler_reloads_to_identical_draws(name, tmp_path):
    sampler = fitted(name)
    path = sampler.save(tmp_path / f"{name}.safetensors")
    loaded = load_sampler(path)
    assert type(loaded) is type(sampler) and loaded.options == sampler.options
    assert loaded.info == json.loads(json.dumps(sampler.info))
    for seed in (0, 1):
        expected = sampler.sample(64, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(
            loaded.sample(64, generator=torch.Generator().manual_seed(seed)), expected
        )


def test_an_unfitted_sampler_is_not_saved(tmp_path):
    from mmlatent.samplers import build_sampler

    with pytest.raises(ValueError, match="fit the sampler"):
        build_sampler("gmm").save(tmp_path / "gmm.safetensors")


class _Payload:
    """Unpickling this would write a marker file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "gmm.safetensors"
    path.write_bytes(pickle.dumps({"weights": _Payload(str(marker))}))
    with pytest.raises(SamplerFileError, match=r"not a safetensors file.*never unpickles"):
        load_sampler(path)
    assert not marker.exists()


def _rewrite(path, change_tensors=None, change_metadata=None):
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    if change_tensors:
        change_tensors(tensors)
    if change_metadata:
        change_metadata(metadata)
    save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda t: t.update(means=t["means"][:, :1].clone()), "mixture tensors disagree"),
        (lambda t: t.update(weights=t["weights"] * 2), "sum to 1"),
        (lambda t: t.pop("covariances"), "'covariances' is missing"),
    ],
)
def test_altered_mixture_tensors_are_refused(tmp_path, tamper, message):
    path = fitted("gmm").save(tmp_path / "gmm.safetensors")
    _rewrite(path, change_tensors=tamper)
    with pytest.raises(SamplerFileError, match=message):
        load_sampler(path)


def test_altered_network_weights_and_metadata_are_refused(tmp_path):
    path = fitted("latent-diffusion").save(tmp_path / "d.safetensors")
    _rewrite(path, change_tensors=lambda t: t.pop(next(k for k in t if k.startswith("denoiser."))))
    with pytest.raises(SamplerFileError, match="denoiser"):
        load_sampler(path)
    path = fitted("gmm").save(tmp_path / "g.safetensors")
    _rewrite(path, change_metadata=lambda m: m.update(sampler="os.system"))
    with pytest.raises(SamplerFileError, match=r"unknown sampler 'os\.system'"):
        load_sampler(path)
    _rewrite(path, change_metadata=lambda m: m.update(format_version="0", sampler="gmm"))
    with pytest.raises(SamplerFileError, match="fit-sampler"):
        load_sampler(path)
