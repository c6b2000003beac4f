"""``mmlatent data check PATH``: read a manifest the way ``manifest`` would and summarise it.

Users see what the loader will see (rows, missing modalities, sizes, labels) and every problem with
file and line, before spending time on training.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmlatent.data.audio import Waveform
from mmlatent.data.datasets.manifest import (
    MODALITY_COLUMNS,
    LoadedRow,
    default_modalities,
    load_row,
    read_rows,
)
from mmlatent.data.errors import DataError

MAX_PROBLEMS = 20


@dataclass
class ManifestReport:
    """What a manifest holds, and the first problems found in it."""

    path: str
    rows: int = 0
    """Rows read (good and bad)."""
    good_rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    """Rows holding each modality (among good rows)."""
    missing_rates: dict[str, float] = field(default_factory=dict)
    image_sizes: dict[str, int] = field(default_factory=dict)
    """``"WxH"`` -> number of images of that size."""
    audio_seconds: dict[str, float] = field(default_factory=dict)
    """min / mean / max clip duration."""
    text_tokens: dict[str, float] = field(default_factory=dict)
    """min / mean / max word count."""
    labels: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    n_problems: int = 0
    problems: list[str] = field(default_factory=list)
    """The first ``MAX_PROBLEMS`` problems, each naming file and line."""

    @property
    def ok(self) -> bool:
        return self.n_problems == 0

    def to_text(self) -> str:
        lines = [f"manifest {self.path}: {self.rows} rows, {self.good_rows} usable"]
        for m in MODALITY_COLUMNS:
            if m in self.counts:
                lines.append(
                    f"  {m:<6} {self.counts[m]:>7} rows  ({self.missing_rates[m]:.1%} missing)"
                )
        if self.image_sizes:
            lines.append(
                "  image sizes: " + ", ".join(f"{s} x{n}" for s, n in self.image_sizes.items())
            )
        for title, stats, unit in (
            ("audio", self.audio_seconds, "s"),
            ("text", self.text_tokens, " words"),
        ):
            if stats:
                lines.append(
                    f"  {title} length: min {stats['min']:.2f}{unit}, mean {stats['mean']:.2f}{unit}, "
                    f"max {stats['max']:.2f}{unit}"
                )
        if self.labels:
            lines.append("  labels: " + ", ".join(f"{k}: {v}" for k, v in self.labels.items()))
        if self.splits:
            lines.append("  splits: " + ", ".join(f"{k}: {v}" for k, v in self.splits.items()))
        lines.append(
            f"  problems: {self.n_problems}"
            + (" (first shown)" if self.n_problems > len(self.problems) else "")
        )
        lines += [f"    - {p}" for p in self.problems]
        return "\n".join(lines)


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=np.float64)
    return {"min": float(arr.min()), "mean": float(arr.mean()), "max": float(arr.max())}


def _summarise(report: ManifestReport, rows: list[LoadedRow]) -> None:
    report.good_rows = len(rows)
    for m in MODALITY_COLUMNS:
        n = sum(m in r.raws for r in rows)
        if n:
            report.counts[m] = n
            report.missing_rates[m] = 1.0 - n / len(rows)
    shapes = [r.raws["image"].shape for r in rows if "image" in r.raws]  # (H, W) or (H, W, C)
    sizes = Counter(f"{shape[1]}x{shape[0]}" for shape in shapes)
    report.image_sizes = dict(sizes.most_common())
    waves: list[Waveform] = [r.raws["audio"] for r in rows if "audio" in r.raws]
    report.audio_seconds = _stats([w.duration for w in waves])
    report.text_tokens = _stats([len(r.raws["text"].split()) for r in rows if "text" in r.raws])
    report.labels = dict(sorted(Counter(str(r.label) for r in rows if r.label is not None).items()))
    report.splits = dict(Counter(r.split for r in rows if r.split is not None))


def check_manifest(path: str | Path, *, text_max_len: int | None = None) -> ManifestReport:
    """Read every row of ``path`` as ``manifest`` would (same checks) and report; never raises for bad rows."""
    path = Path(path)
    report = ManifestReport(path=str(path))
    modalities = default_modalities(
        image_size=(28, 28),
        image_channels=1,
        text_max_len=text_max_len,
        text_level="word",
        audio={},
    )
    problems: list[str] = []
    good: list[LoadedRow] = []
    try:
        rows = read_rows(path)
    except DataError as err:
        rows = []
        problems.append(str(err))
    for row in rows:
        try:
            if isinstance(row, DataError):
                raise row
            good.append(load_row(row, path, modalities))
        except DataError as err:
            problems.append(str(err))
    report.rows = len(rows)
    with_split = sum(r.split is not None for r in good)
    if 0 < with_split < len(good):
        problems.append(
            f"{path}: {len(good) - with_split} rows have no split, but other rows give one"
        )
    if not good:
        problems.append(f"{path}: no usable rows")
    _summarise(report, good)
    report.n_problems, report.problems = len(problems), problems[:MAX_PROBLEMS]
    return report
