"""GANs from the command line on a tiny manifest: an unconditional image GAN (fit, sample,
evaluate, report) and conditional ones (text -> image, text -> audio written as WAV)."""

from __future__ import annotations

import json

import pytest

from mmlatent.cli import main
from test_cli import write_manifest

QUICK = [
    "train.max_epochs=2",
    "train.progress_bar=false",
    "data.batch_size=8",
    "eval.judge_epochs=2",
    "eval.n_unconditional=16",
    "eval.audio_roundtrip_limit=4",
]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return write_manifest(tmp_path_factory.mktemp("manifest"), n=24)


def fit(manifest, run, *sets: str) -> int:
    args = ["fit", "--data", "manifest", "--data-option", f"path={manifest}", "--out", str(run)]
    return main(args + [x for o in [*QUICK, *sets] for x in ("--set", o)])


def test_unconditional_gan_fits_samples_evaluates_and_reports(manifest, tmp_path) -> None:
    run = tmp_path / "gan"
    options = "model.options={latent_dim: 8, hidden_dim: 16, modality: image, loss: hinge}"
    assert fit(manifest, run, "model.name=gan", options) == 0
    assert (run / "progress" / "epoch-001-image.png").is_file()
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "s")]) == 0
    assert sorted(p.suffix for p in (tmp_path / "s").iterdir()) == [".png"] * 3
    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["coherence"] == {} and "no reconstruction" in " ".join(metrics["notes"])
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "Samples during training" in html and "hinge objective" in html


def test_conditional_gans_generate_from_the_cli(manifest, tmp_path, capsys) -> None:
    run = tmp_path / "text-to-audio"
    options = "model.options={latent_dim: 8, hidden_dim: 16, condition: text, modality: audio}"
    assert fit(manifest, run, "model.name=cgan", options) == 0
    out = tmp_path / "gen"
    args = ["generate", str(run), "--given", "text=a cross", "--n", "2", "--out", str(out)]
    assert main(args) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".wav", ".wav"]
    assert main(["sample", str(run), "--out", str(tmp_path / "free")]) == 2
    assert "given" in capsys.readouterr().err
    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["coherence"]) >= {"text->audio"} and metrics["joint_coherence"] is None
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "text → audio" in html and "no unconditional samples" in html
