"""``evaluate``: every score of one model on one data set, as a JSON-ready dataclass."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import LatentSampler, cross_coherence, joint_coherence
from mmlatent.evaluation.judges import Judge
from mmlatent.evaluation.reconstruction import reconstruction_scores
from mmlatent.evaluation.runtime import inference
from mmlatent.models.base import GenerativeModel

NO_LABELS = "coherence unavailable: data set has no labels"


@dataclass
class EvaluationResult:
    """Scores of one model on one split; ``to_dict`` is what ``metrics.json`` holds."""

    split: str
    n_samples: int
    reconstruction: dict[str, dict[str, float]]
    """Per modality: ``{"mse": ...}`` (image, audio, vector) or ``{"token_accuracy": ...}`` (text)."""
    coherence: dict[str, float] = field(default_factory=dict)
    """Cross-modal coherence keyed ``"image+text->audio"``; ``"...->audio(wav)"`` after Griffin-Lim."""
    joint_coherence: float | None = None
    """Fraction of unconditional samples on whose label all judges agree."""
    n_unconditional: int = 0
    judge_accuracy: dict[str, float] = field(default_factory=dict)
    """Each judge's accuracy on real test data: the ceiling that coherence is read against."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN (nothing to count) becomes ``None``."""
        return _nan_to_none(asdict(self))


def evaluate(
    model: GenerativeModel,
    data: MultimodalData,
    judges: dict[str, Judge],
    *,
    split: str = "test",
    batch_size: int = 256,
    n_unconditional: int = 1000,
    latent_sampler: LatentSampler | None = None,
    seed: int = 0,
    audio_roundtrip_limit: int = 200,
    sample_latent: bool = True,
) -> EvaluationResult:
    """Reconstruction, cross-modal and joint coherence of ``model`` on ``data[split]``.

    ``judges`` come from :func:`~mmlatent.evaluation.judges.train_judges`; with none (an unlabelled
    data set) coherence is skipped with a note and reconstruction is still computed.
    ``sample_latent`` draws codes for generation (as coherence is usually reported); reconstruction
    always decodes the posterior mean.
    """
    if split not in data.splits:
        raise ValueError(f"unknown split {split!r}; data set has {sorted(data.splits)}")
    result = EvaluationResult(split=split, n_samples=len(data.splits[split]), reconstruction={})
    with inference(model, seed):
        if model.capabilities.encodes:
            result.reconstruction = reconstruction_scores(
                model, data, split=split, batch_size=batch_size
            )
        else:
            result.notes.append("no reconstruction: the model has no encoder")
        if not judges:
            result.notes.append(NO_LABELS)
            return result
        result.judge_accuracy = {m: j.accuracy for m, j in judges.items()}
        result.coherence = cross_coherence(
            model, data, judges, split=split, batch_size=batch_size,
            audio_roundtrip_limit=audio_roundtrip_limit, sample_latent=sample_latent,
        )  # fmt: skip
        free = model.capabilities.unconditional  # joint coherence scores samples from nothing
        result.joint_coherence = joint_coherence(
            model, judges, n=n_unconditional if free else 0, batch_size=batch_size,
            latent_sampler=latent_sampler, sample_latent=sample_latent,
        )  # fmt: skip
        if result.joint_coherence is None:
            result.notes.append(
                "joint coherence needs judges for at least two modalities"
                if free
                else "no joint coherence: the model generates only from a condition"
            )
        else:
            result.n_unconditional = n_unconditional
    return result


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
