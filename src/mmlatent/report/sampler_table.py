"""The report's table comparing latent samplers, from ``metrics["samplers"]``.

Pure: no model, no files. One row per sampler (the prior, the run's own, and any other saved in
the run); joint coherence, and the second judges' on the same samples when they scored them; for
each image-like modality, FID and KID on the judge's features (lower is better),
precision / recall, and the modes (judged labels) the samples cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SamplerTable:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    n_samples: int | None = None


def _num(value: Any, places: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def sampler_table(metrics: dict[str, Any]) -> SamplerTable | None:
    """None when the evaluation compared no samplers (an unlabelled data set, an old run)."""
    samplers: dict[str, dict[str, Any]] = metrics.get("samplers") or {}
    if not samplers:
        return None
    modalities = list(dict.fromkeys(m for s in samplers.values() for m in s.get("fidelity", {})))
    second = any("second_judge_joint_coherence" in s for s in samplers.values())
    columns = [
        "sampler",
        "joint coherence",
        *(["joint coherence (second judges)"] if second else []),
    ]
    for m in modalities:
        columns += [f"{m} FID", f"{m} KID", f"{m} precision / recall", f"{m} modes covered"]
    table = SamplerTable(columns, n_samples=next(iter(samplers.values())).get("n_samples"))
    for name, scores in samplers.items():
        row = [name, _num(scores.get("joint_coherence"))]
        if second:
            row.append(_num(scores.get("second_judge_joint_coherence")))
        for m in modalities:
            fid = scores.get("fidelity", {}).get(m, {})
            modes = scores.get("mode_coverage", {}).get(m, {})
            row += [
                _num(fid.get("fid"), 2),
                f"{_num(fid.get('kid'), 4)} ± {_num(fid.get('kid_std'), 4)}",
                f"{_num(fid.get('precision'), 2)} / {_num(fid.get('recall'), 2)}",
                f"{modes.get('modes_covered', 'n/a')}/{modes.get('n_classes', 'n/a')}",
            ]
        table.rows.append(row)
    return table
