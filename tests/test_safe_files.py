"""Run files are written atomically, read without running pickled code, and a broken or
unfinished run says what is wrong with it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mmlatent.atomic import atomic_write, atomic_write_text
from mmlatent.config import RunConfig
from mmlatent.data.modalities import ImageModality, TextModality
from mmlatent.models import build_model
from mmlatent.run import RESUME_CHECKPOINT, Run, RunError


class WritesAMarker:
    """Unpickling this creates ``marker``: code that a safe loader must never run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


@pytest.fixture
def saved_run(tmp_path: Path) -> Run:
    modalities = {"image": ImageModality(), "text": TextModality(max_len=5).fit(["a b", "c"])}
    options = {"latent_dim": 3, "hidden_dim": 8}
    model = build_model("mopoe", {n: m.spec for n, m in modalities.items()}, options)
    config = RunConfig().with_overrides([f"model.options={options}"])
    run = Run(path=tmp_path / "run", config=config, model=model, modalities=modalities)
    run.save()
    return run


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "metrics.json", "old")

    def half_then_crash(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_saving_a_run_leaves_only_whole_files(saved_run: Run) -> None:
    names = sorted(p.name for p in saved_run.path.iterdir())
    assert names == ["config.yaml", "modalities.json", "model.safetensors"]
    assert Run.load(saved_run.path).config == saved_run.config


def test_an_incomplete_run_names_every_missing_file(saved_run: Run) -> None:
    (saved_run.path / "model.safetensors").unlink()
    (saved_run.path / "modalities.json").unlink()
    with pytest.raises(RunError, match=r"modalities\.json, model\.safetensors missing"):
        Run.load(saved_run.path)
    (saved_run.path / RESUME_CHECKPOINT).parent.mkdir()
    (saved_run.path / RESUME_CHECKPOINT).write_bytes(b"")
    with pytest.raises(RunError, match="did not finish; continue it with `mmlatent fit --resume"):
        Run.load(saved_run.path)


@pytest.mark.parametrize("cut", [0, 7, 200, -10])
def test_a_corrupt_weights_file_is_named(saved_run: Run, cut: int) -> None:
    weights = saved_run.path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:cut])
    with pytest.raises(RunError, match=r"model\.safetensors: (not a readable|weights do not)"):
        Run.load(saved_run.path)


def test_corrupt_metrics_are_named(saved_run: Run) -> None:
    (saved_run.path / "metrics.json").write_text('{"coherence": ')
    with pytest.raises(RunError, match=r"metrics\.json: not valid metrics JSON"):
        saved_run.metrics()


def test_a_pickled_sampler_is_refused_and_runs_no_code(tmp_path: Path) -> None:
    from mmlatent.samplers.base import LatentSampler, SamplerFileError

    marker = tmp_path / "code-ran"
    path = tmp_path / "gmm.safetensors"
    path.write_bytes(pickle.dumps(WritesAMarker(marker)))
    with pytest.raises(SamplerFileError):
        LatentSampler.load(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the payload is live: an unsafe load would have run it
    assert marker.exists()
