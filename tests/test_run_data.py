"""A run's data is rebuilt in the shapes it was trained on, even after a default shape changes."""

from __future__ import annotations

import dataclasses

import pytest

from mmlatent import run as run_module
from mmlatent import workflows
from mmlatent.config import RunConfig
from mmlatent.data.datasets import shape_options
from mmlatent.data.modalities import AudioModality, TextModality
from mmlatent.run import Run, RunError

OLD_STATES = {
    "text": TextModality(max_len=12).state(),
    "audio": AudioModality(frames=64, hop_length=128).state(),
}


def test_shape_options_pin_the_saved_text_length_and_log_mel_grid() -> None:
    assert shape_options("digits", OLD_STATES) == {
        "text_max_len": 12,
        "audio_frames": 64,
        "audio_hop_length": 128,
    }


def test_shape_options_offer_only_what_the_data_set_accepts() -> None:
    options = shape_options("manifest", OLD_STATES)
    assert options["text_max_len"] == 12 and options["audio_frames"] == 64
    assert "audio_hop_length" not in options  # the manifest has no such option
    assert shape_options("no-such-data", OLD_STATES) == {}


def _run(tmp_path, data, modalities) -> Run:
    config = dataclasses.replace(RunConfig(), data=dataclasses.replace(RunConfig().data, name="x"))
    return Run(path=tmp_path, config=config, model=None, modalities=modalities)  # type: ignore[arg-type]


def test_a_run_gets_data_in_its_own_shapes_and_a_clear_error_otherwise(
    tiny_data, tmp_path, monkeypatch
) -> None:
    calls: list[dict] = []

    def fake_load(name, **options):
        calls.append(options)
        return tiny_data

    monkeypatch.setattr(run_module, "load_dataset", fake_load)
    monkeypatch.setattr(run_module, "shape_options", lambda name, states: {"audio_frames": 16})
    same = _run(tmp_path, tiny_data, dict(tiny_data.modalities))
    assert workflows.load_run_data(same) is tiny_data
    assert calls[-1]["audio_frames"] == 16  # the run's shape reached the data set

    other = dict(tiny_data.modalities, audio=AudioModality(n_mels=8, frames=64))
    with pytest.raises(RunError, match=r"'audio' was trained on \(1, 8, 64\)"):
        workflows.load_run_data(_run(tmp_path, tiny_data, other))


def test_resume_rebuilds_the_data_in_the_shapes_the_run_started_with(
    tiny_data, tmp_path, monkeypatch
) -> None:
    from mmlatent.training import fit as fit_module

    run_dir = tmp_path / "run"
    Run(
        path=run_dir,
        config=RunConfig(),
        model=None,
        modalities=dict(tiny_data.modalities),  # type: ignore[arg-type]
    ).save_metadata()
    (run_dir / fit_module.RESUME_CHECKPOINT).parent.mkdir(parents=True, exist_ok=True)
    (run_dir / fit_module.RESUME_CHECKPOINT).write_bytes(b"")
    monkeypatch.setattr(fit_module, "read_checkpoint", lambda path: {"epoch": 1, "global_step": 5})
    seen: dict = {}

    def fake_run_data(path, config, modalities):
        seen["states"] = {m: mod.state() for m, mod in modalities.items()}
        return tiny_data

    monkeypatch.setattr(fit_module, "run_data", fake_run_data)
    monkeypatch.setattr(fit_module, "fit", lambda config, run_dir, *, data, resume_from: data)
    assert fit_module.resume(run_dir) is tiny_data
    assert seen["states"] == {m: mod.state() for m, mod in tiny_data.modalities.items()}
