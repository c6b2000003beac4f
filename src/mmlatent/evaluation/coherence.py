"""Coherence: do generated samples carry the label of what they were generated from?

Cross-modal coherence judges ``generate(given=sources, targets=[t])`` against the sources' true
labels; joint coherence asks whether every modality of one unconditional sample gets the same
label. The subset and key helpers are pure; the two loops only batch, generate and count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations

from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.modalities import Modality
from mmlatent.evaluation.judges import Judge
from mmlatent.evaluation.metrics import Coherence, JointCoherence
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel

LatentSampler = Callable[[int], Tensor]
ROUNDTRIP_SUFFIX = "(wav)"


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
    sample_latent: bool = True,
) -> dict[str, float]:
    """Coherence of every direction the model serves (``model.directions()``: for most models
    every source subset -> every judged target outside it).

    Audio targets are judged twice: on the generated log-mel, and under the key
    ``"<sources>-><target>(wav)"`` on the log-mel re-analysed from its Griffin-Lim waveform, for
    the first ``audio_roundtrip_limit`` rows only (Griffin-Lim is slow).
    """
    device = model_device(model)
    usable = [m for m in model.modalities if m in data.modalities]
    scores: dict[str, float] = {}
    directions = [(s, t) for s, t in model.directions() if {*s, t} <= set(usable)]
    for sources in dict.fromkeys(s for s, _ in directions):  # each source set once, in order
        targets = [t for s, t in directions if s == sources and t in judges]
        rows = rows_with(data, split, sources)
        if not targets or len(rows) == 0:
            continue
        audio = [t for t in targets if judges[t].spec.kind == "audio" and audio_roundtrip_limit > 0]
        metrics = {t: Coherence() for t in targets}
        metrics |= {t + ROUNDTRIP_SUFFIX: Coherence() for t in audio}
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            given = {m: data.tensors[m][chunk].to(device) for m in sources}
            out = model.generate(given=given, targets=targets, sample_latent=sample_latent)
            labels = data.labels[chunk]
            for t in targets:
                metrics[t].update(judges[t].predict(out[t]).cpu(), labels)
            k = max(0, min(len(chunk), audio_roundtrip_limit - start))
            for t in audio if k else []:
                heard = waveform_roundtrip(data.modalities[t], out[t][:k])
                metrics[t + ROUNDTRIP_SUFFIX].update(judges[t].predict(heard), labels[:k])
        scores |= {direction_key(sources, t): float(m.compute()) for t, m in metrics.items()}
    return scores


def joint_coherence(
    model: GenerativeModel,
    judges: dict[str, Judge],
    *,
    n: int,
    batch_size: int,
    latent_sampler: LatentSampler | None = None,
    sample_latent: bool = True,
) -> float | None:
    """Fraction of ``n`` unconditional samples whose judged modalities all agree on a label.

    Samples come from the prior, or from ``latent_sampler(b) -> z`` when given. ``None`` when
    fewer than two modalities have judges (agreement of one modality with itself means nothing).
    """
    targets = [m for m in model.modalities if m in judges]
    if len(targets) < 2 or n <= 0:
        return None
    device = model_device(model)
    metric = JointCoherence()
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        if latent_sampler is None:
            out = model.generate(b, targets=targets, sample_latent=sample_latent)
        else:
            z = latent_sampler(b).to(device)
            out = model.generate(latent=z, targets=targets, sample_latent=sample_latent)
        metric.update({t: judges[t].predict(out[t]).cpu() for t in targets})
    return float(metric.compute())
