"""Manifests of any shape (JSONL or CSV, any row, any path, any encoding): loading gives a data
set or a ``DataError`` that names the manifest; ``mmlatent data check`` never raises."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from fuzz_budget import examples, settings
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mmlatent.data.check import check_manifest
from mmlatent.data.datasets.manifest import COLUMNS, manifest
from mmlatent.data.errors import DataError

FUZZ = settings.get_profile("mmlatent")
PATHS = [
    "img/ok.png",
    "wav/ok.wav",
    "img/bad.png",
    "wav/bad.wav",
    "img/missing.png",
    "../outside.png",
    "/etc/hostname",
    "",
    "img",
    "img/../img/ok.png",
    "img/ok.png\x00",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(PATHS),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=2),
)
keys = st.one_of(st.sampled_from(COLUMNS), st.text(max_size=8))
rows = st.lists(st.dictionaries(keys, values, max_size=6), max_size=12)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"])


@st.composite
def good_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Mostly well-formed rows (so the loader gets far), with one field of one row fuzzed."""
    n = draw(st.integers(1, 12))
    out: list[dict[str, Any]] = [
        {"image": "img/ok.png", "audio": "wav/ok.wav", "text": f"a shape {i}", "label": i % 2}
        for i in range(n)
    ]
    row = draw(st.integers(0, n - 1))
    out[row][draw(keys)] = draw(values)
    return out


@st.composite
def manifests(draw: st.DrawFn) -> tuple[str, bytes]:
    chosen = draw(st.one_of(rows, good_rows()))
    suffix = draw(st.sampled_from([".jsonl", ".csv"]))
    if suffix == ".jsonl":
        text = "\n".join(json.dumps(r, allow_nan=True) for r in chosen)
    else:
        text = to_csv(chosen, draw(st.lists(st.sampled_from(COLUMNS), unique=True, min_size=1)))
    if draw(st.booleans()):  # damage: a cut, a stray byte, a foreign line
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=5)) + text[cut:]
    data = text.encode(draw(encodings), errors="replace")
    return suffix, data


def to_csv(chosen: list[dict[str, Any]], header: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in chosen:
        writer.writerow(["" if row.get(h) is None else str(row.get(h)) for h in header])
    return buffer.getvalue()


def make_folder(root: Path) -> Path:
    folder = root / "data"
    if folder.exists():
        return folder
    (folder / "img").mkdir(parents=True)
    (folder / "wav").mkdir()
    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(folder / "img" / "ok.png")
    sf.write(folder / "wav" / "ok.wav", np.sin(np.arange(4000) / 5.0) * 0.3, 8000)
    (folder / "img" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "wav" / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "outside.png").write_bytes((folder / "img" / "ok.png").read_bytes())
    return folder


@settings(FUZZ, max_examples=examples(250))
@given(case=manifests(), skip_bad=st.booleans())
def test_any_manifest_loads_or_names_itself(
    tmp_path: Path, case: tuple[str, bytes], skip_bad: bool
) -> None:
    import warnings

    suffix, content = case
    path = make_folder(tmp_path) / f"manifest{suffix}"
    path.write_bytes(content)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = manifest(path=path, skip_bad=skip_bad, audio_n_mels=8, audio_frames=16)
    except DataError as err:
        assert str(path) in str(err), err
    else:
        assert len(data) > 0
        for name, x in data.tensors.items():
            assert len(x) == len(data) and bool(torch.isfinite(x.float()).all()), name
    report = check_manifest(path)  # never raises: problems are listed
    assert report.ok or report.problems


def test_a_path_with_a_nul_character_is_named(tmp_path: Path) -> None:
    """Found by ``make fuzz``: ``Path.resolve`` raised a bare ``ValueError`` (embedded null byte)."""
    path = make_folder(tmp_path) / "manifest.jsonl"
    path.write_text('{"image": "\\u0000"}\n')
    try:
        manifest(path=path)
    except DataError as err:
        assert str(path) in str(err) and "NUL character" in str(err)
    else:
        raise AssertionError("a path with a NUL character was accepted")
