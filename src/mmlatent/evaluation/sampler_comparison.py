"""One table comparing latent samplers on the same model: joint coherence, FID, KID,
precision/recall and mode coverage, all from the same unconditional samples of each sampler.
Given the second judges, their joint coherence on those samples confirms the first (or not).

The real reference set (test rows, at most ``n``) is featurised once and shared by every sampler,
so their figures differ only by what the samplers drew.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import Panel
from mmlatent.evaluation.fidelity import JudgeFidelity, LabelHistogram, image_like
from mmlatent.evaluation.judges import Judge, labelled_rows
from mmlatent.evaluation.metrics import JointCoherence
from mmlatent.evaluation.runtime import inference, model_device
from mmlatent.models.base import GenerativeModel

LatentDraw = Callable[[int], Tensor]


def compare_samplers(
    model: GenerativeModel,
    data: MultimodalData,
    judges: dict[str, Judge],
    draws: Mapping[str, LatentDraw],
    *,
    n: int,
    split: str = "test",
    batch_size: int = 256,
    seed: int = 0,
    second_judges: Panel | None = None,
) -> dict[str, dict[str, Any]]:
    """``{sampler: {"joint_coherence", "n_samples", "fidelity": {m: {fid, kid, kid_std,
    precision, recall}}, "mode_coverage": {m: {...}}}}`` for ``n`` samples of each sampler,
    and ``"second_judge_joint_coherence"`` when ``second_judges`` are given.

    FID/KID/precision/recall cover the judged image-like modalities with at least two real test
    samples; joint coherence needs judges for two modalities (else ``None``).
    """
    targets = [m for m in model.modalities if m in judges]
    seconds = [m for m in targets if second_judges is not None and m in second_judges]
    fidelity = _real_reference(data, judges, targets, n, split, seed)
    device = model_device(model)
    table = {}
    for name, draw in draws.items():
        joint, second_joint = JointCoherence(), JointCoherence()
        histograms = {t: LabelHistogram(judges[t].n_classes) for t in targets}
        for metric in fidelity.values():
            metric.reset()
        with inference(model, seed):
            for start in range(0, n, batch_size):
                z = draw(min(batch_size, n - start)).to(device)
                out = model.generate(latent=z, targets=targets)
                labels = {t: judges[t].predict(out[t]).cpu() for t in targets}
                joint.update(labels)
                if second_judges is not None and len(seconds) > 1:
                    second_joint.update(
                        {t: second_judges[t].predict(out[t]).cpu() for t in seconds}
                    )
                for t in targets:
                    histograms[t].update(labels[t])
                for m, metric in fidelity.items():
                    metric.update_fake(out[m].cpu())  # states live on the CPU
        table[name] = {
            "joint_coherence": float(joint.compute()) if len(targets) > 1 else None,
            "n_samples": n,
            "fidelity": {m: metric.compute(seed) for m, metric in fidelity.items()},
            "mode_coverage": {t: h.compute() for t, h in histograms.items()},
        }
        if second_judges is not None:
            table[name]["second_judge_joint_coherence"] = (
                float(second_joint.compute()) if len(seconds) > 1 else None
            )
    return table


def _real_reference(
    data: MultimodalData,
    judges: dict[str, Judge],
    targets: list[str],
    n: int,
    split: str,
    seed: int,
) -> dict[str, JudgeFidelity]:
    """Per judged image-like modality, metrics holding the features of up to ``n`` real rows
    (a seeded choice of the split's rows that have the modality)."""
    out = {}
    generator = torch.Generator().manual_seed(seed)
    for m in targets:
        rows = labelled_rows(data, m, split)
        if not image_like(judges[m]) or len(rows) < 2:
            continue
        rows = rows[torch.randperm(len(rows), generator=generator)[:n]]
        out[m] = JudgeFidelity(judges[m], max_samples=min(n, len(rows)))
        for chunk in rows.split(1024):
            out[m].update_real(data.tensors[m][chunk])
    return out
