"""Rows of the report's metrics tables, from an ``EvaluationResult.to_dict()``-shaped dict.

Pure: no model, no files. Coherence sits beside the accuracy of the judge of its target, since a
judge's own test accuracy is the most a generator can be expected to score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmlatent.evaluation.coherence import ROUNDTRIP_SUFFIX

DISAGREE_FLAG = "judges disagree by > 0.05"

KNOWN = {
    "coherence",
    "judge_accuracy",
    "reconstruction",
    "joint_coherence",
    "joint_coherence_by_sampler",
    "samplers",
    "notes",
    "second_judge",
    "probes",
    "likelihood",
    "activity",
}


@dataclass
class Row:
    name: str
    value: str
    reference: str = ""
    """The judge's accuracy on real data, or another yardstick; empty where none applies."""
    second: str = ""
    """The same figure under the second, independent judge; empty where there is none."""
    flag: str = ""
    """Why this figure needs a second look (the two judges disagree), else empty."""


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def coherence_rows(metrics: dict[str, Any]) -> list[Row]:
    """Coherence per direction and joint, beside the judge's accuracy and the second judge's
    figure; a flag where the two judges differ by more than 0.05."""
    judges = metrics.get("judge_accuracy") or {}
    second = metrics.get("second_judge") or {}
    second_coherence = second.get("coherence") or {}
    disagree = set(second.get("disagreements") or [])
    rows = []
    for key, value in (metrics.get("coherence") or {}).items():
        target = key.split("->")[-1].removesuffix(ROUNDTRIP_SUFFIX)
        rows.append(
            Row(
                key.replace("->", " → "),
                fmt(value),
                fmt(judges.get(target)),
                second=fmt(second_coherence.get(key)) if second else "",
                flag=DISAGREE_FLAG if key in disagree else "",
            )
        )
    n = metrics.get("n_unconditional")
    by_sampler = metrics.get("joint_coherence_by_sampler") or {}
    if not by_sampler and metrics.get("joint_coherence") is not None:
        by_sampler = {metrics.get("sampler") or "prior": metrics["joint_coherence"]}
    sampled = metrics.get("samplers") or {}
    for sampler, value in by_sampler.items():
        # The sampler table's count where the figure comes from it, else the evaluation's own.
        count = (sampled.get(sampler) or {}).get("n_samples", n)
        row = Row(f"joint (all modalities agree, {count} {sampler} samples)", fmt(value))
        if second and sampler == (metrics.get("sampler") or sampler):
            row.second = fmt(second.get("joint_coherence"))
            row.flag = DISAGREE_FLAG if "joint" in disagree else ""
        rows.append(row)
    return rows


def second_judge_rows(metrics: dict[str, Any]) -> list[Row]:
    """Each second judge: what it is, and its accuracy on real test data beside the first's."""
    second = metrics.get("second_judge") or {}
    first = metrics.get("judge_accuracy") or {}
    return [
        Row(f"{m}: {about}", fmt((second.get("accuracy") or {}).get(m)), fmt(first.get(m)))
        for m, about in (second.get("about") or {}).items()
    ]


def probe_rows(metrics: dict[str, Any]) -> list[Row]:
    """Per posterior: linear-probe accuracy, and k-means NMI / ARI in ``reference``."""
    probes = metrics.get("probes") or {}
    clustering = probes.get("clustering") or {}
    keys = list(dict.fromkeys([*(probes.get("accuracy") or {}), *clustering]))
    rows = []
    for key in keys:
        scores = clustering.get(key) or {}
        rows.append(
            Row(
                f"q(z | {'all modalities' if key == 'joint' else key})",
                fmt((probes.get("accuracy") or {}).get(key)),
                f"{fmt(scores.get('nmi'))} / {fmt(scores.get('ari'))}",
            )
        )
    return rows


def likelihood_rows(metrics: dict[str, Any]) -> list[Row]:
    """Joint and conditional negative log-likelihoods as ``nll ± se`` (nats per test row)."""
    lik = metrics.get("likelihood") or {}
    estimates = {"joint: -log p(all modalities)": lik.get("joint")}
    for key, value in (lik.get("conditional") or {}).items():
        sources, target = key.split("->")
        estimates[f"-log p({target} | {sources.replace('+', ', ')})"] = value
    return [
        Row(name, f"{e['nll']:.1f} ± {fmt(e.get('se'))}", str(e.get("n")))
        for name, e in estimates.items()
        if e
    ]


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
