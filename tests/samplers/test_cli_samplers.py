"""``mmlatent fit-sampler`` and ``mmlatent sample --sampler`` on a tiny run: fitted once, saved in
the run, reused."""

from __future__ import annotations

import logging

import pytest

from mmlatent.cli import main
from mmlatent.run import Run
from mmlatent.run_samplers import sampler_path, saved_samplers
from test_cli import TINY, write_manifest

DIFFUSION = ["steps=20", "hidden_dim=16", "timesteps=10", "batch_size=8"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest")
    manifest = write_manifest(folder, n=24, holes=False)
    run = folder / "run"
    args = ["fit", "--data", "manifest", "--data-option", f"path={manifest}", "--out", str(run)]
    assert main(args + [x for o in TINY for x in ("--set", o)] + ["--max-epochs", "1"]) == 0
    return run


def sample_files(run_dir, out, sampler):
    assert main(["sample", str(run_dir), "--sampler", sampler, "--n", "3", "--out", str(out)]) == 0
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_fit_sampler_saves_and_sample_reuses_it(run_dir, tmp_path, capsys):
    set_options = [x for o in DIFFUSION for x in ("--set", o)]
    assert main(["fit-sampler", str(run_dir), "--sampler", "latent-diffusion", *set_options]) == 0
    path = sampler_path(Run.load(run_dir), "latent-diffusion")
    assert path.is_file() and "latent-diffusion" in capsys.readouterr().out
    written = path.stat().st_mtime_ns
    first = sample_files(run_dir, tmp_path / "a", "latent-diffusion")
    again = sample_files(run_dir, tmp_path / "b", "latent-diffusion")
    assert first == again and any(name.endswith(".png") for name in first)
    assert path.stat().st_mtime_ns == written  # loaded, not refitted


def test_sample_fits_and_saves_an_absent_sampler_and_says_so(run_dir, tmp_path, caplog):
    run = Run.load(run_dir)
    sampler_path(run, "gmm").unlink(missing_ok=True)
    with caplog.at_level(logging.INFO, logger="mmlatent"):
        sample_files(run_dir, tmp_path / "g", "gmm")
    assert "no saved gmm sampler" in caplog.text
    assert "gmm" in saved_samplers(run)


def test_bad_sampler_options_name_the_option(run_dir, capsys):
    assert (
        main(["fit-sampler", str(run_dir), "--sampler", "gmm", "--set", "max_components=lots"]) == 2
    )
    assert "max_components" in capsys.readouterr().err
    assert main(["fit-sampler", str(run_dir), "--sampler", "gmm", "--set", "colour=red"]) == 2
    assert "colour" in capsys.readouterr().err
