"""Test log-likelihoods by importance sampling: joint, and conditional for every direction.

Each model estimates log p(x_S) of any subset S of modalities with its own proposal
(``importance_log_likelihood``, the IWAE estimate of Burda et al. 2016 with K draws). The
conditional of a direction is the difference of two such estimates on the same row,
log p(x_t | x_S) = log p(x_S, x_t) - log p(x_S); it is consistent as K grows but, being a
difference, no longer a bound. Figures are negative log-likelihoods in nats per test row, with the
standard error of their mean over rows (the spread of the test set, which dominates Monte Carlo
noise at the K used here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import cast

import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import direction_key, source_subsets
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel

DRAWS_PER_CHUNK = 8192
"""K x rows decoded at once: bounds memory whatever K is."""


@dataclass
class Estimate:
    nll: float
    """Mean negative log-likelihood over test rows, nats."""
    se: float
    """Standard error of that mean (std of the per-row values / sqrt(n))."""
    n: int
    """Test rows averaged."""

    @classmethod
    def of(cls, per_row: Tensor) -> Estimate:
        """From per-row log-likelihoods (N,): the NLL's mean and its standard error."""
        n = len(per_row)
        se = float(per_row.std() / math.sqrt(n)) if n > 1 else math.nan
        return cls(nll=float(-per_row.mean()), se=se, n=n)


@dataclass
class LikelihoodResult:
    k: int
    """Importance samples per estimate."""
    joint: Estimate | None = None
    """-log p(every modality of the model)."""
    conditional: dict[str, Estimate] = field(default_factory=dict)
    """``"a+b->c"``: -log p(x_c | x_a, x_b)."""

    @classmethod
    def from_dict(cls, d: dict) -> LikelihoodResult:
        joint = d.get("joint")
        return cls(
            k=int(d["k"]),
            joint=Estimate(**joint) if joint else None,
            conditional={k: Estimate(**v) for k, v in (d.get("conditional") or {}).items()},
        )


def subset_log_likelihoods(
    model: GenerativeModel,
    data: MultimodalData,
    rows: Tensor,
    modalities: Sequence[str],
    *,
    k: int,
) -> dict[tuple[str, ...], Tensor]:
    """log p(x_S) per row (N,) for every non-empty subset S of ``modalities`` (rows have them all).

    Needs the model's ``importance_log_likelihood(data, mask, k)``.
    """
    estimate = cast(Callable[..., Tensor], model.importance_log_likelihood)
    device = model_device(model)
    subsets = [s for r in range(1, len(modalities) + 1) for s in combinations(modalities, r)]
    out: dict[tuple[str, ...], list[Tensor]] = {s: [] for s in subsets}
    for chunk in rows.split(max(1, DRAWS_PER_CHUNK // k)):
        ones = torch.ones(len(chunk), dtype=torch.bool, device=device)
        for subset in subsets:
            given = {m: data.tensors[m][chunk].to(device) for m in subset}
            out[subset].append(estimate(given, {m: ones for m in subset}, k=k).cpu())
    return {s: torch.cat(v) for s, v in out.items()}


def likelihood_scores(
    model: GenerativeModel,
    data: MultimodalData,
    *,
    split: str = "test",
    k: int = 10,
    max_rows: int | None = None,
) -> LikelihoodResult | None:
    """Joint and conditional NLLs on rows of ``split`` having every modality of the model.

    ``None`` when the model has no importance-sampling estimate (no encoder) or no row qualifies.
    ``max_rows`` keeps the first rows only (a fixed subset, so runs compare).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not hasattr(model, "importance_log_likelihood") or not model.capabilities.encodes:
        return None
    names = [m for m in model.modalities if m in data.modalities]
    idx = data.splits[split]
    keep = torch.ones(len(idx), dtype=torch.bool)
    for m in names:
        keep &= data.masks[m][idx]
    rows = idx[keep][:max_rows]
    if len(rows) == 0:
        return None
    logp = subset_log_likelihoods(model, data, rows, names, k=k)
    result = LikelihoodResult(k=k, joint=Estimate.of(logp[tuple(names)]))
    for sources in source_subsets(names):
        for target in (t for t in names if t not in sources):
            both = tuple(m for m in names if m in sources or m == target)
            result.conditional[direction_key(sources, target)] = Estimate.of(
                logp[both] - logp[tuple(sources)]
            )
    return result
