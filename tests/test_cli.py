"""The command line end to end on a tiny user manifest: fit -> generate -> sample -> evaluate -> report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmlatent.cli import main

SHAPES = ["square", "cross"]
TINY = [
    "train.max_epochs=2",
    "train.progress_bar=false",
    "data.batch_size=8",
    "model.options={latent_dim: 4, hidden_dim: 16}",
    "eval.judge_epochs=2",
    "eval.n_unconditional=16",
    "eval.fidelity_samples=16",
    "eval.audio_roundtrip_limit=4",
]


def write_manifest(folder: Path, n: int = 32, *, holes: bool = True) -> Path:
    """Two classes: a bright square or a cross, a low or high tone, a caption; with ``holes``
    every fourth row lacks audio."""
    (folder / "img").mkdir()
    (folder / "wav").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = i % 2
        pixels = (rng.random((28, 28)) * 40).astype(np.uint8)
        if label == 0:
            pixels[8:20, 8:20] = 255
        else:
            pixels[13:15, :] = pixels[:, 13:15] = 255
        Image.fromarray(pixels).save(folder / "img" / f"{i}.png")
        row = {
            "image": f"img/{i}.png",
            "text": f"a {SHAPES[label]} number {i}",
            "label": SHAPES[label],
        }
        if i % 4 != 3 or not holes:
            t = np.arange(4000) / 8000
            tone = 0.5 * np.sin(2 * np.pi * (300 if label == 0 else 1200) * t)
            sf.write(folder / "wav" / f"{i}.wav", tone, 8000)
            row["audio"] = f"wav/{i}.wav"
        rows.append(row)
    path = folder / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest")
    manifest = write_manifest(folder)
    run = folder / "run"
    args = ["fit", "--data", "manifest", "--data-option", f"path={manifest}", "--out", str(run)]
    assert main(args + [x for o in TINY for x in ("--set", o)]) == 0
    return folder, run


def test_fit_writes_a_run(fitted):
    _, run = fitted
    assert (run / "model.safetensors").is_file() and (run / "config.yaml").is_file()


def test_generate_from_text_and_from_an_image_file(fitted, tmp_path):
    folder, run = fitted
    out = tmp_path / "gen"
    assert (
        main(
            [
                "generate",
                str(run),
                "--given",
                "text=a square",
                "--targets",
                "image,audio",
                "--n",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert len(list(out.glob("*.png"))) == 3 and len(list(out.glob("*.wav"))) == 3
    png = Image.open(next(out.glob("*.png")))
    assert png.size == (28, 28)
    assert (
        main(
            [
                "generate",
                str(run),
                "--given",
                f"image={folder / 'img' / '0.png'}",
                "--given",
                f"audio={folder / 'wav' / '0.wav'}",
                "--n",
                "2",
                "--out",
                str(out / "b"),
            ]
        )
        == 0
    )
    texts = [p.read_text() for p in (out / "b").glob("*.txt")]
    assert len(texts) == 2


def test_sample_writes_every_modality(fitted, tmp_path):
    _, run = fitted
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path)]) == 0
    suffixes = sorted(p.suffix for p in tmp_path.iterdir())
    assert (
        suffixes.count(".png") == 4 and suffixes.count(".wav") == 4 and suffixes.count(".txt") == 4
    )


def test_sample_temperature(fitted, tmp_path, capsys):
    _, run = fitted

    def images(*extra: str, seed: int = 0) -> list[bytes]:
        out = tmp_path / f"{'_'.join(extra)}-{seed}"
        args = ["sample", str(run), "--n", "3", "--seed", str(seed), "--out", str(out)]
        assert main([*args, *extra]) == 0
        return [np.asarray(Image.open(p)).tobytes() for p in sorted(out.glob("*.png"))]

    assert images("--temperature", "1") == images()
    assert images("--temperature", "0.5") != images()
    for sampler in ("gmm", "prior"):  # a fitted sampler's codes and the model's prior alike
        assert images("--sampler", sampler, "--temperature", "0.3") != images("--sampler", sampler)
    assert main(["sample", str(run), "--temperature", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "temperature must be a finite number >= 0" in capsys.readouterr().err
    assert main(["sample", str(run), "--n", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--n must be a positive number of samples, got 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_evaluate_and_report(fitted):
    _, run = fitted
    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    modalities = ("image", "text", "audio")
    directions = {f"{a}->{b}" for a in modalities for b in modalities if a != b}
    assert directions <= set(metrics["coherence"])  # every one-source direction was scored
    assert all(0.0 <= v <= 1.0 for v in metrics["coherence"].values())
    assert set(metrics["judge_accuracy"]) == set(modalities)
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "<audio" in html and "data:image/png;base64," in html and "http://" not in html


def test_bad_input_is_one_clear_line(fitted, tmp_path, capsys):
    _, run = fitted
    assert main(["generate", str(run), "--given", "smell=roses", "--out", str(tmp_path)]) == 2
    assert "unknown modality" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "nowhere"), "--given", "text=x"]) == 2
    assert "config.yaml" in capsys.readouterr().err
    assert main(["fit", "--data", "digits", "--set", "train.max_epochs=0"]) == 2
    assert "train.max_epochs" in capsys.readouterr().err


def test_registry_listings(capsys):
    assert main(["models"]) == 0
    assert "mopoe" in capsys.readouterr().out
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "avmnist" in out and "manifest" in out


def test_data_check_reports_a_manifest(tmp_path, capsys):
    manifest = write_manifest(tmp_path, n=8)
    assert main(["data", "check", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "8 rows, 8 usable" in out
    assert re.search(r"audio\s+6 rows\s+\(25\.0% missing\)", out)  # every 4th row lacks audio
    manifest.write_text(manifest.read_text() + '{"image": "../outside.png"}\n')
    assert main(["data", "check", str(manifest)]) == 1


def test_fit_missing_flag_lands_in_the_run_config(tmp_path):
    from mmlatent.config import RunConfig

    manifest = write_manifest(tmp_path, n=16)
    run = tmp_path / "run"
    args = ["fit", "--data", "manifest", "--data-option", f"path={manifest}", "--out", str(run)]
    args += [x for o in TINY for x in ("--set", o)] + ["--max-epochs", "1"]
    assert main([*args, "--missing", "audio=0.5", "--missing", "text=0.25"]) == 0
    assert RunConfig.from_yaml(run / "config.yaml").data.missing == {"audio": 0.5, "text": 0.25}


def test_fit_missing_flag_errors_name_the_field(tmp_path, capsys):
    out = ["--out", str(tmp_path / "run")]
    assert main(["fit", "--data", "digits", "--missing", "audio=1.5", *out]) == 2
    err = capsys.readouterr().err
    assert "data.missing.audio" in err and "[0, 1)" in err and "1.5" in err
    assert main(["fit", "--data", "digits", "--missing", "audio=half", *out]) == 2
    assert "data.missing.audio" in capsys.readouterr().err
    assert main(["fit", "--data", "digits", "--missing", "audio", *out]) == 2
    assert "--missing 'audio' must look like NAME=VALUE" in capsys.readouterr().err
    manifest = write_manifest(tmp_path, n=8)
    data = ["--data", "manifest", "--data-option", f"path={manifest}"]
    assert main(["fit", *data, "--missing", "smell=0.5", *out]) == 2
    assert "'smell'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_generate_refuses_a_sample_count_below_one(fitted, tmp_path, capsys):
    _, run = fitted
    for n in ("-3", "0"):
        args = ["generate", str(run), "--given", "text=a square", "--targets", "image"]
        assert main([*args, "--n", n, "--out", str(tmp_path)]) == 2
        assert f"--n must be a positive number of samples, got {n}" in capsys.readouterr().err
    assert not tmp_path.joinpath("generated_000_image.png").exists()


def test_generate_temperature_and_posterior_mean(fitted, tmp_path, capsys):
    _, run = fitted
    base = ["generate", str(run), "--given", "text=a square", "--targets", "image"]

    def image(*extra: str, seed: int) -> bytes:
        out = tmp_path / f"{'_'.join(extra)}-{seed}"
        assert main([*base, *extra, "--n", "1", "--seed", str(seed), "--out", str(out)]) == 0
        (png,) = out.glob("*.png")
        return np.asarray(Image.open(png)).tobytes()

    assert image("--posterior-mean", seed=0) == image("--posterior-mean", seed=1)
    assert image("--temperature", "0", seed=0) == image("--posterior-mean", seed=2)
    assert image(seed=0) != image(seed=1)  # draws do change with the seed
    assert image("--temperature", "1", seed=0) == image(seed=0)
    assert image("--temperature", "0.5", seed=0) not in (
        image(seed=0),
        image("--posterior-mean", seed=0),
    )
    assert main([*base, "--posterior-mean", "--n", "3", "--out", str(tmp_path / "x")]) == 2
    assert "makes one output (the mean), not --n 3" in capsys.readouterr().err
    assert main([*base, "--temperature", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "temperature must be a finite number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    with pytest.raises(SystemExit):  # argparse: the two say the same thing, one at a time
        main([*base, "--posterior-mean", "--temperature", "0.5"])


def test_generate_names_unknown_words_and_refuses_text_with_none_known(fitted, tmp_path, capsys):
    _, run = fitted
    base = ["generate", str(run), "--targets", "image", "--n", "1"]
    assert main([*base, "--given", "text=zebra quantum flux", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "no word is in the run's vocabulary" in err and "'zebra', 'quantum', 'flux'" in err
    assert not (tmp_path / "a").exists()
    assert main([*base, "--given", "text=a zebra square", "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "unknown words ignored: 'zebra'" in err and "'square'" not in err
    assert len(list((tmp_path / "b").glob("*.png"))) == 1


def test_a_corrupt_weights_file_is_named(fitted, tmp_path, capsys):
    import shutil

    _, run = fitted
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert main(["generate", str(broken), "--given", "text=a square", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{weights}: not a readable safetensors file" in err and "Traceback" not in err


def test_explore_writes_traversals_and_interpolations(fitted, tmp_path, capsys):
    _, run = fitted
    out = tmp_path / "explore"
    args = ["explore", str(run), "--traverse", "1", "--steps", "3", "--out", str(out)]
    assert main([*args, "--interpolate", "0:image", "text=a cross number 3"]) == 0
    for walk in ("traverse-z1", "interpolate"):
        names = sorted(p.name for p in (out / walk).iterdir())
        assert {"step_000_image.png", "step_002_audio.wav", "step_001_text.txt"} <= set(names)
        steps = json.loads((out / walk / "steps.json").read_text())
        assert len(steps["values"]) == len(steps["codes"]) == 3
    codes = json.loads((out / "traverse-z1" / "steps.json").read_text())["codes"]
    assert len({c[0] for c in codes}) == 1 and len({c[1] for c in codes}) == 3  # only z1 moves
    assert main(["explore", str(run), "--interpolate", "999", "0", "--out", str(out)]) == 2
    assert "expected a test row" in capsys.readouterr().err
