"""The report with fakes: every section present, embedded media decode, nothing external."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from evaluation_fakes import N_CLASSES, OracleModel, make_data, oracle_judges
from PIL import Image

from mmlatent.evaluation import evaluate
from mmlatent.report import write_report
from mmlatent.report.gallery import directions
from mmlatent.report.plots import read_loss_columns

DATA_URI = re.compile(r"data:(image/png|audio/wav);base64,([A-Za-z0-9+/=]+)")


def _history(path: Path) -> Path:
    lines = ["epoch,step,train/loss,val/loss,val/kl"]
    for step in range(10):
        lines.append(f"{step // 5},{step},{2.0 / (step + 1)},,")
        if step % 5 == 4:
            lines.append(f"{step // 5},{step},,{1.5 / (step + 1)},0.1")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("report")
    data = make_data(n=200)
    model = OracleModel(data.specs)
    metrics = evaluate(model, data, oracle_judges(), n_unconditional=20).to_dict()
    metrics["fid"] = {"image": 12.5}  # a score evaluate does not know still gets listed
    path = write_report(
        model=model, data=data, metrics=metrics, out_dir=tmp, history_csv=_history(tmp / "metrics.csv"),
        n_examples=4,
    )  # fmt: skip
    assert path == tmp / "report.html"
    return path.read_text()


def test_every_section_is_there(report_html: str) -> None:
    for section in (
        "metrics",
        "cross-modal",
        "unconditional",
        "reconstructions",
        "curves",
        "latent",
    ):
        assert f'id="{section}"' in report_html
    for key in ("image-to-text", "text-to-audio", "image-text-to-audio", "text-audio-to-image"):
        assert f'id="{key}"' in report_html
    assert "image + text → audio" in report_html
    assert "fid/image" in report_html and "12.500" in report_html
    assert "<audio controls" in report_html
    assert re.search(r"test #\d+ · class\d", report_html)  # label names in captions
    assert 'alt="loss curves"' in report_html and 'alt="latent map"' in report_html


def test_embedded_media_decode(report_html: str) -> None:
    found = DATA_URI.findall(report_html)
    kinds = {mime for mime, _ in found}
    assert kinds == {"image/png", "audio/wav"}
    for mime, payload in found:
        raw = base64.b64decode(payload)
        if mime == "image/png":
            Image.open(io.BytesIO(raw)).verify()
        else:
            samples, rate = sf.read(io.BytesIO(raw))
            assert rate == 8000 and len(samples) > 0 and np.abs(samples).max() <= 1.0


def test_nothing_external(report_html: str) -> None:
    outside_media = DATA_URI.sub("data:", report_html)
    assert "http" not in outside_media
    assert not re.search(r'src="(?!data:)', outside_media)


def test_unlabelled_data_still_reports(tmp_path: Path) -> None:
    data = make_data(n=80, labelled=False)
    model = OracleModel(data.specs)
    metrics = evaluate(model, data, {}, n_unconditional=0).to_dict()
    html = write_report(
        model=model, data=data, metrics=metrics, out_dir=tmp_path, n_examples=2
    ).read_text()
    assert "coherence unavailable: data set has no labels" in html
    assert "no training log was given" in html


def test_directions_single_then_all_others() -> None:
    assert directions(["a", "b", "c"])[-3:] == [
        (("b", "c"), "a"),
        (("a", "c"), "b"),
        (("a", "b"), "c"),
    ]
    assert len(directions(["a", "b"])) == 2  # all-others is a single source: no duplicates


def test_loss_columns_skip_empty_rows(tmp_path: Path) -> None:
    curves = read_loss_columns(_history(tmp_path / "m.csv"))
    assert set(curves) == {"train/loss", "val/loss"}
    x, y = curves["val/loss"]
    assert x.tolist() == [4, 9] and y.tolist() == pytest.approx([0.3, 0.15])


def test_unconditional_samples_come_from_the_given_sampler(tmp_path: Path) -> None:
    import torch

    data = make_data(n=80)
    model = OracleModel(data.specs)
    metrics = evaluate(model, data, oracle_judges(), n_unconditional=10).to_dict()
    metrics["joint_coherence_by_sampler"] = {"prior": 0.25, "gmm": 0.75}
    asked: list[int] = []

    def sampler(n: int) -> torch.Tensor:
        asked.append(n)
        return torch.eye(N_CLASSES)[torch.zeros(n, dtype=torch.long)]  # every code: class 0

    html = write_report(
        model=model, data=data, metrics=metrics, out_dir=tmp_path, n_examples=3,
        latent_sampler=sampler, sampler_name="gmm",
    ).read_text()  # fmt: skip
    assert asked == [3]
    assert "drawn from the gmm sampler" in html
    assert "10 prior samples" in html and "0.250" in html and "10 gmm samples" in html
