"""``evaluate``: every score of one model on one data set, as one typed, JSON-ready result.

:class:`EvaluationResult` is the single owner of the figures: ``metrics.json`` is its
``to_dict()``, and the report and ``mmlatent compare`` read it back with ``from_dict`` and only
render it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import (
    LatentSampler,
    Panel,
    cross_coherence_panels,
    joint_coherence_panels,
)
from mmlatent.evaluation.interpret import ActivityResult, dimension_activity
from mmlatent.evaluation.judges import Judge
from mmlatent.evaluation.likelihood import LikelihoodResult, likelihood_scores
from mmlatent.evaluation.probes import ProbeResult, probe_scores
from mmlatent.evaluation.reconstruction import reconstruction_scores
from mmlatent.evaluation.runtime import inference
from mmlatent.models.base import GenerativeModel

NO_LABELS = "coherence unavailable: data set has no labels (probes and clustering skipped too)"
DISAGREEMENT = 0.05
"""Two judges' coherence figures further apart than this are flagged."""


@dataclass
class SecondJudgeResult:
    """Coherence of the same generated samples under a second, independent judge per modality."""

    about: dict[str, str] = field(default_factory=dict)
    """Per modality: the second judge's front end and classifier."""
    accuracy: dict[str, float] = field(default_factory=dict)
    """Its accuracy on real test data."""
    coherence: dict[str, float] = field(default_factory=dict)
    """Keyed like ``EvaluationResult.coherence``."""
    joint_coherence: float | None = None
    disagreements: list[str] = field(default_factory=list)
    """Keys (``"image->audio"``, ``"joint"``) where the two judges differ by more than 0.05."""


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
    sampler: str | None = None
    """The latent sampler behind ``joint_coherence``."""
    joint_coherence_by_sampler: dict[str, float | None] = field(default_factory=dict)
    """Joint coherence per latent sampler (the prior's too, so a fitted sampler's gain shows)."""
    samplers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Further per-sampler figures (e.g. FID, KID), ``{sampler: {figure: value}}``."""
    second_judge: SecondJudgeResult | None = None
    probes: ProbeResult | None = None
    likelihood: LikelihoodResult | None = None
    activity: ActivityResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per part of the evaluation."""
    evaluation_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys of a ``metrics.json`` this version does not know: kept, and written back as they were."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN (nothing to count) becomes ``None``."""
        d = asdict(self)
        extra = d.pop("extra")
        return _nan_to_none({**d, **extra})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvaluationResult:
        """The inverse of :meth:`to_dict` (``None`` figures stay ``None``)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in d.items() if k in known}
        nested = {
            "second_judge": lambda v: SecondJudgeResult(**v),
            "probes": ProbeResult.from_dict,
            "likelihood": LikelihoodResult.from_dict,
            "activity": ActivityResult.from_dict,
        }
        for name, build in nested.items():
            if kwargs.get(name) is not None:
                kwargs[name] = build(kwargs[name])
        return cls(**kwargs, extra={k: v for k, v in d.items() if k not in known})


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
    temperature: float = 1.0,
    second_judges: Panel | None = None,
    probe: bool = True,
    probe_max_train: int | None = 2000,
    likelihood_k: int = 10,
    likelihood_rows: int | None = 200,
) -> EvaluationResult:
    """Reconstruction, coherence, probes, likelihoods and dimension activity of ``model``.

    ``judges`` come from :func:`~mmlatent.evaluation.judges.train_judges`; with none (an unlabelled
    data set) coherence and probes are skipped with a note and the rest is still computed.
    ``second_judges`` (:func:`~mmlatent.evaluation.second_judges.train_second_judges`) score the
    same generated samples again. Generation draws codes at ``temperature`` (1, a plain draw, is
    how coherence is usually reported; 0 decodes means); reconstruction always decodes the
    posterior mean. ``likelihood_k=0`` skips likelihoods.
    """
    if split not in data.splits:
        raise ValueError(f"unknown split {split!r}; data set has {sorted(data.splits)}")
    result = EvaluationResult(split=split, n_samples=len(data.splits[split]), reconstruction={})
    encodes = model.capabilities.encodes
    with inference(model, seed):
        if encodes:
            with _timed(result, "reconstruction"):
                result.reconstruction = reconstruction_scores(
                    model, data, split=split, batch_size=batch_size
                )
        else:
            result.notes.append("no reconstruction: the model has no encoder")
        if judges:
            with _timed(result, "coherence"):
                _coherence(
                    result, model, data, judges, second_judges,
                    split=split, batch_size=batch_size, n_unconditional=n_unconditional,
                    latent_sampler=latent_sampler, audio_roundtrip_limit=audio_roundtrip_limit,
                    temperature=temperature,
                )  # fmt: skip
        else:
            result.notes.append(NO_LABELS)
        if encodes:
            _latent_space(
                result, model, data, split=split, batch_size=batch_size, seed=seed,
                probe=probe and data.has_labels, probe_max_train=probe_max_train,
                likelihood_k=likelihood_k, likelihood_rows=likelihood_rows,
            )  # fmt: skip
    return result


def _coherence(
    result: EvaluationResult,
    model: GenerativeModel,
    data: MultimodalData,
    judges: dict[str, Judge],
    second_judges: Panel | None,
    *,
    split: str,
    batch_size: int,
    n_unconditional: int,
    latent_sampler: LatentSampler | None,
    audio_roundtrip_limit: int,
    temperature: float,
) -> None:
    """Cross-modal and joint coherence under the judges (and the second judges, same samples)."""
    panels: list[Panel] = [judges] + ([second_judges] if second_judges else [])
    result.judge_accuracy = {m: j.accuracy for m, j in judges.items()}
    coherence = cross_coherence_panels(
        model, data, panels, split=split, batch_size=batch_size,
        audio_roundtrip_limit=audio_roundtrip_limit, temperature=temperature,
    )  # fmt: skip
    free = model.capabilities.unconditional  # joint coherence scores samples from nothing
    joint = joint_coherence_panels(
        model, panels, n=n_unconditional if free else 0, batch_size=batch_size,
        latent_sampler=latent_sampler, temperature=temperature,
    )  # fmt: skip
    result.coherence, result.joint_coherence = coherence[0], joint[0]
    if result.joint_coherence is None:
        result.notes.append(
            "joint coherence needs judges for at least two modalities"
            if free
            else "no joint coherence: the model generates only from a condition"
        )
    else:
        result.n_unconditional = n_unconditional
    if second_judges:
        result.second_judge = SecondJudgeResult(
            about={m: getattr(j, "about", type(j).__name__) for m, j in second_judges.items()},
            accuracy={m: float(getattr(j, "accuracy", math.nan)) for m, j in second_judges.items()},
            coherence=coherence[1],
            joint_coherence=joint[1],
        )
        result.second_judge.disagreements = disagreements(result, result.second_judge)


def disagreements(result: EvaluationResult, second: SecondJudgeResult) -> list[str]:
    """Keys whose coherence differs by more than :data:`DISAGREEMENT` between the two judges."""
    pairs: dict[str, tuple[float | None, float | None]] = {
        k: (v, second.coherence.get(k)) for k, v in result.coherence.items()
    }
    pairs["joint"] = (result.joint_coherence, second.joint_coherence)
    return [
        key
        for key, (a, b) in pairs.items()
        if a is not None and b is not None and abs(a - b) > DISAGREEMENT
    ]


def _latent_space(
    result: EvaluationResult,
    model: GenerativeModel,
    data: MultimodalData,
    *,
    split: str,
    batch_size: int,
    seed: int,
    probe: bool,
    probe_max_train: int | None,
    likelihood_k: int,
    likelihood_rows: int | None,
) -> None:
    """Probes and clustering, likelihoods, and per-dimension activity of the model's codes."""
    if probe:
        with _timed(result, "probes"):
            result.probes = probe_scores(
                model, data, split=split, batch_size=batch_size,
                max_train=probe_max_train, seed=seed,
            )  # fmt: skip
    if likelihood_k > 0:
        with _timed(result, "likelihood"):
            result.likelihood = likelihood_scores(
                model, data, split=split, k=likelihood_k, max_rows=likelihood_rows
            )
    with _timed(result, "activity"):
        result.activity = dimension_activity(model, data, split=split, batch_size=batch_size)


@contextmanager
def _timed(result: EvaluationResult, part: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    result.timings[part] = time.perf_counter() - started


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
