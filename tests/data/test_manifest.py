"""``manifest``: users' JSONL/CSV files, missing modalities, and one test per kind of bad input."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mmlatent.data.check import check_manifest
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.manifest import Row, read_rows
from mmlatent.data.errors import DataError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A PNG, a WAV and two broken files, as a user's folder would hold them."""
    Image.fromarray(np.full((20, 30), 200, dtype=np.uint8)).save(tmp_path / "seven.png")
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4000) / 16000)
    sf.write(tmp_path / "seven.wav", tone.astype(np.float32), 16000)
    (tmp_path / "broken.png").write_bytes(b"no image here")
    (tmp_path / "broken.wav").write_bytes(b"no audio here")
    return tmp_path


def jsonl(folder: Path, rows: list[dict], name: str = "data.jsonl") -> Path:
    path = folder / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


GOOD = [
    {"image": "seven.png", "audio": "seven.wav", "text": "a handwritten seven", "label": "seven"},
    {"image": "seven.png", "text": "the digit 7", "label": "seven"},
    {"audio": "seven.wav", "label": "two"},
    {"text": "two", "label": "two"},
]


def test_mixed_rows_become_masks_and_named_labels(folder: Path) -> None:
    rows = GOOD * 3
    data = load_dataset("manifest", path=jsonl(folder, rows), val_fraction=0.25, test_fraction=0.25)
    assert set(data.tensors) == {"image", "audio", "text"}
    assert data.masks["image"].tolist() == [True, True, False, False] * 3
    assert data.masks["audio"].tolist() == [True, False, True, False] * 3
    assert data.label_names == ["seven", "two"] and data.labels.tolist() == [0, 0, 1, 1] * 3
    assert data.tensors["image"].shape == (12, 1, 28, 28)
    assert data.tensors["audio"].shape == (12, 1, 32, 32)
    assert data.tensors["text"].shape == (12, 5)  # fitted: "a handwritten seven", bos, eos
    assert not data.tensors["image"][~data.masks["image"]].any()  # placeholders are zeros
    assert data.split_sizes() == {"train": 6, "val": 3, "test": 3}


def test_only_present_modalities_and_split_column(folder: Path) -> None:
    rows = [
        {"text": f"word {i}", "label": i % 2, "split": s}
        for i, s in enumerate(["train"] * 4 + ["val", "test"])
    ]
    data = load_dataset("manifest", path=jsonl(folder, rows))
    assert set(data.tensors) == {"text"} and data.label_names is None
    assert data.split_sizes() == {"train": 4, "val": 1, "test": 1}
    assert data.modalities["text"].decode_batch(data.tensors["text"][:2]) == ["word 0", "word 1"]


def test_csv_manifest(folder: Path) -> None:
    path = folder / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "text", "label"])
        writer.writerows([["seven.png", "seven, by hand", "7"], ["", "two", "2"]])
    data = load_dataset("manifest", path=path, val_fraction=0, test_fraction=0)
    assert data.labels.tolist() == [7, 2] and data.masks["image"].tolist() == [True, False]


BAD_ROWS = {
    "unreadable image": (
        {"image": "broken.png"},
        r"line 2: image: .*broken.png: cannot read image",
    ),
    "unreadable audio": (
        {"audio": "broken.wav"},
        r"line 2: audio: .*broken.wav: cannot read audio",
    ),
    "empty text": ({"text": "  "}, r"line 2: text: empty text"),
    "over-long text": (
        {"text": "one two three four five"},
        r"line 2: text: text 'one two three four five' has 5 tokens",
    ),
    "no modality": ({"label": 3}, r"line 2: row has no modality"),
    "unknown column": ({"text": "two", "caption": "x"}, r"line 2: unknown columns \['caption'\]"),
    "path outside": (
        {"image": "../seven.png"},
        r"line 2: image path '../seven.png' leaves the manifest folder",
    ),
    "missing file": ({"image": "nowhere.png"}, r"line 2: image: .*nowhere.png"),
    "bad split": ({"text": "two", "split": "holdout"}, r"line 2: split must be one of"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_is_an_error_naming_file_and_line(folder: Path, case: str) -> None:
    row, message = BAD_ROWS[case]
    path = jsonl(folder, [GOOD[1], row])
    with pytest.raises(DataError, match=message) as info:
        load_dataset("manifest", path=path, text_max_len=6)
    assert str(path) in str(info.value)


def test_malformed_json_names_file_and_line(folder: Path) -> None:
    path = folder / "data.jsonl"
    path.write_text(json.dumps(GOOD[1]) + '\n{"text": "two",\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"data.jsonl, line 2: malformed JSON"):
        load_dataset("manifest", path=path)


def test_malformed_csv_and_unknown_csv_column(folder: Path) -> None:
    path = folder / "data.csv"
    path.write_text("text,label\ntwo,2\nthree,3,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"data.csv, line 3: malformed CSV: 3 fields"):
        load_dataset("manifest", path=path)
    path.write_text("text,caption\ntwo,x\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"data.csv, line 1: unknown or repeated columns \['caption'\]"
    ):
        load_dataset("manifest", path=path)


def test_skip_bad_drops_rows_with_one_warning(folder: Path) -> None:
    rows = [GOOD[0], {"image": "broken.png"}, {"label": 1}, GOOD[1], {"text": ""}]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset(
            "manifest", path=jsonl(folder, rows), skip_bad=True, val_fraction=0, test_fraction=0
        )
    assert len(data) == 2
    assert len(caught) == 1 and "skipped 3 bad rows" in str(caught[0].message)
    assert "broken.png" in str(caught[0].message)


def test_check_manifest_reports_sizes_and_problems(folder: Path) -> None:
    report = check_manifest(
        jsonl(folder, [*GOOD, {"image": "broken.png"}, {"text": "x", "split": "nope"}])
    )
    assert report.rows == 6 and report.good_rows == 4 and not report.ok and report.n_problems == 2
    assert report.counts == {"image": 2, "audio": 2, "text": 3}
    assert report.missing_rates["image"] == pytest.approx(0.5)
    assert report.image_sizes == {"30x20": 2} and report.audio_seconds["max"] == pytest.approx(0.25)
    assert report.labels == {"seven": 2, "two": 2}
    text = report.to_text()
    assert "broken.png" in text and "30x20 x2" in text and "line 6" in text
    assert check_manifest(jsonl(folder, GOOD, "good.jsonl")).ok


ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
VALUES = st.fixed_dictionaries(
    {"text": st.text(ALPHABET, min_size=1, max_size=20).filter(str.strip)},
    optional={
        "label": st.one_of(st.integers(0, 99), st.sampled_from(["cat", "dog", "bird"])),
        "split": st.sampled_from(["train", "val", "test"]),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(VALUES, min_size=1, max_size=8))
def test_parsers_read_back_what_was_written(tmp_path: Path, rows: list[dict]) -> None:
    """Any text (commas, quotes, unicode) survives JSONL and CSV, on the line it was written."""
    path = jsonl(tmp_path, rows)
    parsed = read_rows(path)
    assert [r.values for r in parsed if isinstance(r, Row)] == rows
    assert [r.line for r in parsed if isinstance(r, Row)] == list(range(1, len(rows) + 1))
    csv_path = tmp_path / "data.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    back = [r.values for r in read_rows(csv_path) if isinstance(r, Row)]
    assert [r["text"] for r in back] == [r["text"] for r in rows]
    assert [r.get("label") for r in back] == [
        None if "label" not in r else str(r["label"]) for r in rows
    ]
