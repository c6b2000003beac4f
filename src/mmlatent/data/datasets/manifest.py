"""``manifest``: users' own data, listed in a JSONL or CSV file.

Each row has any of ``image`` (path), ``audio`` (path), ``text``, ``label`` (int or class name) and
``split`` (train/val/test). Paths are relative to the manifest's folder and may not leave it. A
modality missing from a row is masked out; bad rows raise a ``DataError`` naming file and line, or,
with ``skip_bad=True``, are dropped with one summarising warning.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmlatent.data.datasets.assemble import labels_tensor, sparse_column
from mmlatent.data.datasets.base import SPLITS, MultimodalData, random_splits
from mmlatent.data.datasets.cache import cached
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import AudioModality, ImageModality, Modality, TextModality
from mmlatent.registry import register_dataset

MODALITY_COLUMNS = ("image", "audio", "text")
COLUMNS = (*MODALITY_COLUMNS, "label", "split")
SHOWN_PROBLEMS = 5


@dataclass
class Row:
    """One manifest row as written (values not yet checked); ``line`` is 1-based in the file."""

    line: int
    values: dict[str, Any]


@dataclass
class LoadedRow:
    """A checked row: raws per present modality, label as written, split or None."""

    line: int
    raws: dict[str, Any] = field(default_factory=dict)
    label: int | str | None = None
    split: str | None = None


def _where(path: Path, line: int) -> str:
    return f"{path}, line {line}"


def _jsonl_rows(path: Path, text: str) -> Iterator[Row | DataError]:
    lines = text.split("\n")  # not splitlines(): U+2028 inside a JSON string is valid
    for line, content in enumerate(lines, start=1):
        if not content.strip():
            continue
        try:
            values = json.loads(content)
        except json.JSONDecodeError as err:
            yield DataError(f"{_where(path, line)}: malformed JSON ({err.msg})")
            continue
        if not isinstance(values, dict):
            yield DataError(
                f"{_where(path, line)}: expected a JSON object, got {type(values).__name__}"
            )
            continue
        yield Row(line, values)


def _csv_rows(path: Path, text: str) -> Iterator[Row | DataError]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as err:
        raise DataError(f"{_where(path, 1)}: malformed CSV header ({err})") from err
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or len(set(header)) != len(header):
        raise DataError(
            f"{_where(path, 1)}: unknown or repeated columns {unknown or header}; allowed: {COLUMNS}"
        )
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield DataError(f"{_where(path, reader.line_num)}: malformed CSV ({err})")
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield DataError(
                f"{_where(path, reader.line_num)}: malformed CSV: {len(cells)} fields, header has {len(header)}"
            )
            continue
        yield Row(reader.line_num, {h: c for h, c in zip(header, cells, strict=True) if c.strip()})


def read_rows(path: str | Path) -> list[Row | DataError]:
    """Parse a ``.jsonl``/``.json`` or ``.csv`` manifest; malformed rows come back as errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Excel's CSVs) is not data
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read manifest ({err})") from err
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return list(_jsonl_rows(path, text))
    if suffix == ".csv":
        return list(_csv_rows(path, text))
    raise DataError(f"{path}: manifest must be .jsonl or .csv, got {suffix or 'no suffix'!r}")


def resolve_inside(folder: Path, value: Any, where: str, column: str) -> Path:
    """``value`` as a path under ``folder``; leaving the folder is an error."""
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: {column} must be a non-empty path string, got {value!r}")
    if "\x00" in value:
        raise DataError(f"{where}: {column} path {value!r} holds a NUL character")
    root = folder.resolve()
    target = (root / value).resolve()
    if not target.is_relative_to(root):
        raise DataError(f"{where}: {column} path {value!r} leaves the manifest folder {root}")
    return target


def _label(value: Any, where: str) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DataError(f"{where}: label must be an int or a class name, got {value!r}")
    if isinstance(value, str):
        value = value.strip()
        if value.lstrip("-").isdigit():
            value = int(value)
    if isinstance(value, int) and value < 0:
        raise DataError(f"{where}: label must be >= 0, got {value}")
    return value


def load_row(row: Row, path: Path, modalities: dict[str, Modality]) -> LoadedRow:
    """Check one row and read its files; any problem is a ``DataError`` naming file and line."""
    where = _where(path, row.line)
    unknown = sorted(set(row.values) - set(COLUMNS))
    if unknown:
        raise DataError(f"{where}: unknown columns {unknown}; allowed: {list(COLUMNS)}")
    values = {k: v for k, v in row.values.items() if v is not None}
    if not any(m in values for m in MODALITY_COLUMNS):
        raise DataError(f"{where}: row has no modality (needs one of {list(MODALITY_COLUMNS)})")
    out = LoadedRow(row.line, label=_label(values.get("label"), where), split=values.get("split"))
    if out.split is not None and out.split not in SPLITS:
        raise DataError(f"{where}: split must be one of {list(SPLITS)}, got {out.split!r}")
    for column in ("image", "audio"):
        if column in values:
            file = resolve_inside(path.parent, values[column], where, column)
            try:
                out.raws[column] = modalities[column].load(file)
            except DataError as err:
                raise DataError(f"{where}: {column}: {err}") from err
    if "text" in values:
        try:
            text = modalities["text"]
            if isinstance(text, TextModality):
                text.check(values["text"])
        except DataError as err:
            raise DataError(f"{where}: text: {err}") from err
        out.raws["text"] = values["text"]
    return out


def default_modalities(
    *,
    image_size: tuple[int, int],
    image_channels: int,
    text_max_len: int | None,
    text_level: str,
    audio: dict[str, Any],
) -> dict[str, Modality]:
    return {
        "image": ImageModality(size=image_size, channels=image_channels),
        "text": TextModality(max_len=text_max_len, level=text_level),  # type: ignore[arg-type]
        "audio": AudioModality(**audio),
    }


def load_rows(path: Path, modalities: dict[str, Modality], *, skip_bad: bool) -> list[LoadedRow]:
    """All good rows; the first bad row raises unless ``skip_bad`` (then one warning for all)."""
    good: list[LoadedRow] = []
    problems: list[DataError] = []
    for row in read_rows(path):
        try:
            if isinstance(row, DataError):
                raise row
            good.append(load_row(row, path, modalities))
        except DataError as err:
            if not skip_bad:
                raise
            problems.append(err)
    split_rows = [r for r in good if r.split is not None]
    if split_rows and len(split_rows) != len(good):
        first = next(r for r in good if r.split is None)
        if not skip_bad:
            raise DataError(
                f"{_where(path, first.line)}: row has no split, but other rows give one"
            )
        problems += [
            DataError(f"{_where(path, r.line)}: row has no split") for r in good if r.split is None
        ]
        good = split_rows
    if problems:
        shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS])
        warnings.warn(f"{path}: skipped {len(problems)} bad rows, e.g. {shown}", stacklevel=3)
    if not good:
        raise DataError(f"{path}: no usable rows")
    return good


def encode_labels(rows: list[LoadedRow]) -> tuple[np.ndarray, list[str] | None]:
    """Ints stay ints; if any label is a name, all become names sorted into ids (kept as label_names)."""
    labels = [r.label for r in rows]
    if all(lab is None or isinstance(lab, int) for lab in labels):
        return np.array([-1 if lab is None else lab for lab in labels], dtype=np.int64), None
    names = sorted({str(lab) for lab in labels if lab is not None})
    ids = {name: i for i, name in enumerate(names)}
    return np.array([-1 if lab is None else ids[str(lab)] for lab in labels], dtype=np.int64), names


def row_splits(
    rows: list[LoadedRow], *, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, torch.Tensor]:
    if rows[0].split is None:
        return random_splits(
            len(rows), val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
        )
    return {
        s: torch.tensor([i for i, r in enumerate(rows) if r.split == s], dtype=torch.long)
        for s in SPLITS
    }


def _build(path: Path, modalities: dict[str, Modality], options: dict[str, Any]) -> MultimodalData:
    rows = load_rows(path, modalities, skip_bad=options["skip_bad"])
    labels, label_names = encode_labels(rows)
    splits = row_splits(
        rows,
        val_fraction=options["val_fraction"],
        test_fraction=options["test_fraction"],
        seed=options["seed"],
    )
    present = {m: mod for m, mod in modalities.items() if any(m in r.raws for r in rows)}
    if "text" in present:
        train_texts = [rows[i].raws.get("text") for i in splits["train"].tolist()]
        corpus = [r.raws["text"] for r in rows if "text" in r.raws]
        texts = [t for t in train_texts if t is not None] or corpus
        text = present["text"]
        if isinstance(text, TextModality):  # length from every split, vocabulary from train
            text.fit(texts, corpus=corpus)
        else:
            text.fit(texts)
    columns = {m: sparse_column(mod, [r.raws.get(m) for r in rows]) for m, mod in present.items()}
    return MultimodalData(
        name="manifest",
        modalities=present,
        tensors={m: x for m, (x, _) in columns.items()},
        masks={m: mask for m, (_, mask) in columns.items()},
        labels=labels_tensor(labels),
        splits=splits,
        label_names=label_names,
    )


@register_dataset("manifest")
def manifest(
    *,
    path: str | Path,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    skip_bad: bool = False,
    image_size: tuple[int, int] = (28, 28),
    image_channels: int = 1,
    text_max_len: int | None = None,
    text_level: str = "word",
    audio_sample_rate: int = 8000,
    audio_n_mels: int = 32,
    audio_frames: int = 32,
    cache: bool = False,
) -> MultimodalData:
    """A data set from a JSONL/CSV manifest (see the module docstring for the row format).

    ``cache`` is off by default: the key covers the manifest's bytes, not the files it points to.
    """
    options = {
        "path": str(path),
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "skip_bad": skip_bad,
        "image_size": list(image_size),
        "image_channels": image_channels,
        "text_max_len": text_max_len,
        "text_level": text_level,
        "audio_sample_rate": audio_sample_rate,
        "audio_n_mels": audio_n_mels,
        "audio_frames": audio_frames,
    }
    audio = {"sample_rate": audio_sample_rate, "n_mels": audio_n_mels, "frames": audio_frames}
    modalities = default_modalities(
        image_size=(int(image_size[0]), int(image_size[1])),
        image_channels=image_channels,
        text_max_len=text_max_len,
        text_level=text_level,
        audio=audio,
    )
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as err:
        raise DataError(f"{path}: cannot read manifest ({err})") from err
    build = lambda: _build(Path(path), modalities, options)  # noqa: E731
    return cached("manifest", options, build, cache=cache, extra=digest)
