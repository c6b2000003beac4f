"""Rows of the report's metrics tables, from an ``EvaluationResult.to_dict()``-shaped dict.

Pure: no model, no files. Coherence sits beside the accuracy of the judge of its target, since a
judge's own test accuracy is the most a generator can be expected to score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmlatent.evaluation.coherence import ROUNDTRIP_SUFFIX

KNOWN = {
    "coherence",
    "judge_accuracy",
    "reconstruction",
    "joint_coherence",
    "joint_coherence_by_sampler",
    "notes",
}


@dataclass
class Row:
    name: str
    value: str
    reference: str = ""
    """The judge's accuracy on real data, or another yardstick; empty where none applies."""


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def coherence_rows(metrics: dict[str, Any]) -> list[Row]:
    judges = metrics.get("judge_accuracy") or {}
    rows = []
    for key, value in (metrics.get("coherence") or {}).items():
        target = key.split("->")[-1].removesuffix(ROUNDTRIP_SUFFIX)
        rows.append(Row(key.replace("->", " → "), fmt(value), fmt(judges.get(target))))
    n = metrics.get("n_unconditional")
    by_sampler = metrics.get("joint_coherence_by_sampler") or {}
    if not by_sampler and metrics.get("joint_coherence") is not None:
        by_sampler = {metrics.get("sampler") or "prior": metrics["joint_coherence"]}
    for sampler, value in by_sampler.items():
        rows.append(Row(f"joint (all modalities agree, {n} {sampler} samples)", fmt(value)))
    return rows


def reconstruction_rows(metrics: dict[str, Any]) -> list[Row]:
    return [
        Row(f"{modality} {name.replace('_', ' ')}", fmt(value))
        for modality, scores in (metrics.get("reconstruction") or {}).items()
        for name, value in scores.items()
    ]


def other_rows(metrics: dict[str, Any], prefix: str = "") -> list[Row]:
    """Any further scores (FID, probes, ... added later), flattened to ``a/b`` names."""
    rows = []
    for key, value in metrics.items():
        if not prefix and key in KNOWN:
            continue
        if isinstance(value, dict):
            rows.extend(other_rows(value, f"{prefix}{key}/"))
        elif not isinstance(value, list):
            rows.append(Row(f"{prefix}{key}", fmt(value)))
    return rows
