"""Runs side by side: one table of every figure in their ``metrics.json``, and ``compare.html``.

Runs whose configs differ only by the seed are one group: their figures are shown as
mean ± standard deviation over the seeds. The table only renders what evaluation wrote.
"""

from __future__ import annotations

import datetime
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mmlatent.report.gallery import Example, Grid
from mmlatent.report.pages import template


@dataclass
class Group:
    """Runs of one configuration (any seeds)."""

    label: str
    runs: list[Path]
    metrics: list[dict[str, float]] = field(default_factory=list)
    """Each run's numeric figures, flattened to dotted keys."""


def numeric_leaves(d: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every number in nested ``d`` under a dotted key (lists, strings and None left out)."""
    out: dict[str, float] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out |= numeric_leaves(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out


def config_key(run: Path) -> str:
    """The run's config without its seed and version: equal keys = seeds of one configuration."""
    config = yaml.safe_load((run / "config.yaml").read_text()) or {}
    config.pop("seed", None)
    config.pop("mmlatent_version", None)
    return json.dumps(config, sort_keys=True, default=str)


def group_runs(runs: Sequence[Path]) -> list[Group]:
    """Runs grouped by configuration, in the order first seen; each needs ``metrics.json``."""
    groups: dict[str, Group] = {}
    for run in runs:
        path = run / "metrics.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run `mmlatent evaluate {run}` first")
        group = groups.setdefault(config_key(run), Group(run.name, []))
        group.runs.append(run)
        group.metrics.append(numeric_leaves(json.loads(path.read_text())))
    for group in groups.values():
        if len(group.runs) > 1:
            group.label = f"{group.runs[0].name} (+{len(group.runs) - 1} seeds)"
    return list(groups.values())


def summary(values: list[float]) -> str:
    """One value as is; several as mean ± sample standard deviation (n)."""
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g} (n={len(values)})"


def comparison_table(groups: Sequence[Group]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per figure any run has, one column per group."""
    keys = list(dict.fromkeys(k for g in groups for m in g.metrics for k in m))
    header = ["metric", *(g.label for g in groups)]
    rows = [
        [key, *(summary([m[key] for m in g.metrics if key in m]) for g in groups)] for key in keys
    ]
    return header, rows


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned plain-text columns for the terminal."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def side_by_side(per_run: dict[str, list[Grid]]) -> list[Grid]:
    """Grids of the same direction and rows from several runs merged: each row shows the input,
    every run's output in turn, and the real sample."""
    labels = list(per_run)
    first = per_run[labels[0]]
    merged = []
    for i, grid in enumerate(first):
        others = [per_run[label][i] for label in labels]
        examples = [
            Example(ex.caption, ex.inputs, [g.examples[j].outputs[0] for g in others], ex.truth)
            for j, ex in enumerate(grid.examples)
        ]
        merged.append(Grid(grid.title, grid.key, grid.inputs, labels, examples))
    return merged


def write_compare_html(
    out: Path,
    header: list[str],
    rows: list[list[str]],
    grids: list[Grid],
    unconditional: dict[str, Grid],
) -> Path:
    """Render ``compare.html``: the table, the merged cross-modal grids, and each run's
    unconditional samples next to each other. Everything embedded: it opens offline."""
    html = template("compare.html").render(
        header=header,
        rows=rows,
        grids=grids,
        unconditional=unconditional,
        created=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
