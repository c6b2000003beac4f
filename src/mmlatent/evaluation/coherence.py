"""Coherence: do generated samples carry the label of what they were generated from?

Cross-modal coherence judges ``generate(given=sources, targets=[t])`` against the sources' true
labels; joint coherence asks whether every modality of one unconditional sample gets the same
label. The subset and key helpers are pure; the two loops only batch, generate and count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Protocol

from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.modalities import Modality
from mmlatent.evaluation.judges import Judge
from mmlatent.evaluation.metrics import Coherence, JointCoherence
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel
from mmlatent.types import ModalitySpec

LatentSampler = Callable[[int], Tensor]
ROUNDTRIP_SUFFIX = "(wav)"


class Classifier(Protocol):
    """What coherence needs of a judge: its modality's spec and labels for a batch."""

    spec: ModalitySpec

    def predict(self, x: Tensor) -> Tensor: ...


Panel = Mapping[str, Classifier]
"""Judges by modality; several panels can score the same generated samples."""


def source_subsets(modalities: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty proper subset of ``modalities`` (a target must remain), smallest first."""
    return [s for k in range(1, len(modalities)) for s in combinations(modalities, k)]


def direction_key(sources: Sequence[str], target: str) -> str:
    """``("image", "text"), "audio"`` -> ``"image+text->audio"``."""
    return f"{'+'.join(sources)}->{target}"


def rows_with(data: MultimodalData, split: str, modalities: Sequence[str]) -> Tensor:
    """Indices of ``split`` with a known label and every one of ``modalities`` present."""
    idx = data.splits[split]
    keep = data.labels[idx] >= 0
    for m in modalities:
        keep &= data.masks[m][idx]
    return idx[keep]


def waveform_roundtrip(modality: Modality, x: Tensor) -> Tensor:
    """Audio as a listener gets it: tensor -> waveform (Griffin-Lim) -> tensor again."""
    return modality.preprocess_many(modality.postprocess_many(x.detach().cpu()))


def cross_coherence(
    model: GenerativeModel,
    data: MultimodalData,
    judges: dict[str, Judge],
    *,
    split: str,
    batch_size: int,
    audio_roundtrip_limit: int,
    temperature: float = 1.0,
) -> dict[str, float]:
    """Coherence of every direction the model serves (``model.directions()``: for most models
    every source subset -> every judged target outside it).

    Audio targets are judged twice: on the generated log-mel, and under the key
    ``"<sources>-><target>(wav)"`` on the log-mel re-analysed from its Griffin-Lim waveform, for
    the first ``audio_roundtrip_limit`` rows only (Griffin-Lim is slow).
    """
    return cross_coherence_panels(
        model, data, [judges], split=split, batch_size=batch_size,
        audio_roundtrip_limit=audio_roundtrip_limit, temperature=temperature,
    )[0]  # fmt: skip


def cross_coherence_panels(
    model: GenerativeModel,
    data: MultimodalData,
    panels: Sequence[Panel],
    *,
    split: str,
    batch_size: int,
    audio_roundtrip_limit: int,
    temperature: float = 1.0,
) -> list[dict[str, float]]:
    """:func:`cross_coherence` under several panels of judges, on the *same* generated samples
    (so panels differ only by their judges). Targets are those the first panel judges."""
    device = model_device(model)
    usable = [m for m in model.modalities if m in data.modalities]
    primary = panels[0]
    scores: list[dict[str, float]] = [{} for _ in panels]
    directions = [(s, t) for s, t in model.directions() if {*s, t} <= set(usable)]
    for sources in dict.fromkeys(s for s, _ in directions):  # each source set once, in order
        targets = [t for s, t in directions if s == sources and t in primary]
        rows = rows_with(data, split, sources)
        if not targets or len(rows) == 0:
            continue
        audio = [
            t for t in targets if primary[t].spec.kind == "audio" and audio_roundtrip_limit > 0
        ]
        keys = targets + [t + ROUNDTRIP_SUFFIX for t in audio]
        metrics = [{key: Coherence() for key in keys} for _ in panels]
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            given = {m: data.tensors[m][chunk].to(device) for m in sources}
            out = model.generate(given=given, targets=targets, temperature=temperature)
            labels = data.labels[chunk]
            k = max(0, min(len(chunk), audio_roundtrip_limit - start))
            heard = {t: waveform_roundtrip(data.modalities[t], out[t][:k]) for t in audio if k}
            for panel, panel_metrics in zip(panels, metrics, strict=True):
                for t in (t for t in targets if t in panel):
                    panel_metrics[t].update(panel[t].predict(out[t]).cpu(), labels)
                for t in (t for t in heard if t in panel):
                    panel_metrics[t + ROUNDTRIP_SUFFIX].update(
                        panel[t].predict(heard[t]).cpu(), labels[:k]
                    )
        for panel_scores, panel_metrics in zip(scores, metrics, strict=True):
            panel_scores |= {
                direction_key(sources, t): float(m.compute())
                for t, m in panel_metrics.items()
                if m.update_called
            }
    return scores


def joint_coherence(
    model: GenerativeModel,
    judges: dict[str, Judge],
    *,
    n: int,
    batch_size: int,
    latent_sampler: LatentSampler | None = None,
    temperature: float = 1.0,
) -> float | None:
    """Fraction of ``n`` unconditional samples whose judged modalities all agree on a label.

    Samples come from the prior, or from ``latent_sampler(b) -> z`` when given. ``None`` when
    fewer than two modalities have judges (agreement of one modality with itself means nothing).
    """
    return joint_coherence_panels(
        model, [judges], n=n, batch_size=batch_size,
        latent_sampler=latent_sampler, temperature=temperature,
    )[0]  # fmt: skip


def joint_coherence_panels(
    model: GenerativeModel,
    panels: Sequence[Panel],
    *,
    n: int,
    batch_size: int,
    latent_sampler: LatentSampler | None = None,
    temperature: float = 1.0,
) -> list[float | None]:
    """:func:`joint_coherence` under several panels, on the same unconditional samples."""
    targets = [m for m in model.modalities if any(m in panel for panel in panels)]
    judged = [[t for t in targets if t in panel] for panel in panels]
    if n <= 0 or max(len(j) for j in judged) < 2:
        return [None] * len(panels)
    device = model_device(model)
    metrics = [JointCoherence() for _ in panels]
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        if latent_sampler is None:
            out = model.generate(b, targets=targets, temperature=temperature)
        else:
            z = latent_sampler(b).to(device)
            out = model.generate(latent=z, targets=targets, temperature=temperature)
        for panel, names, metric in zip(panels, judged, metrics, strict=True):
            if len(names) >= 2:
                metric.update({t: panel[t].predict(out[t]).cpu() for t in names})
    return [
        float(m.compute()) if len(j) >= 2 else None for m, j in zip(metrics, judged, strict=True)
    ]
