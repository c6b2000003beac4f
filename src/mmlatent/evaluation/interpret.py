"""Looking inside the latent space: which dimensions are used, and what moving along them does.

Pure tensors in, tensors out: the report and ``mmlatent explore`` render them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel

ACTIVE_THRESHOLD = 0.01
"""A dimension is active when its posterior means vary more than this over the data (the
"active units" criterion of Burda et al. 2016)."""


@dataclass
class ActivityResult:
    """Per latent dimension: how much the data moves it, and how far it is from the prior."""

    variance: list[float] = field(default_factory=list)
    """Variance of the posterior means over test rows (joint posterior)."""
    kl: list[float] = field(default_factory=list)
    """Average KL(q(z_d | x) || N(0, 1)) over test rows; empty when the posterior is not Gaussian."""
    n_active: int = 0
    """Dimensions whose variance exceeds ``threshold``."""
    threshold: float = ACTIVE_THRESHOLD

    @classmethod
    def from_dict(cls, d: dict) -> ActivityResult:
        return cls(**d)

    def ranked(self) -> list[int]:
        """Dimensions from most to least active."""
        return sorted(range(len(self.variance)), key=lambda d: -self.variance[d])


@torch.no_grad()
def dimension_activity(
    model: GenerativeModel, data: MultimodalData, *, split: str = "test", batch_size: int = 256
) -> ActivityResult:
    """Variance of the posterior means and the per-dimension KL, over rows having any modality."""
    names = [m for m in model.modalities if m in data.modalities]
    rows = data.rows_with_any(split, names)
    device = model_device(model)
    means, kls = [], []
    for chunk in rows.split(batch_size):
        batch = data.batch(chunk)
        posterior = model.encode(
            {m: batch["data"][m].to(device) for m in names},
            {m: batch["mask"][m].to(device) for m in names},
        )
        means.append(posterior.mean.cpu())
        if hasattr(posterior, "logvar"):
            kl = 0.5 * (posterior.var + posterior.mean.pow(2) - 1.0 - posterior.logvar)
            kls.append(kl.cpu())  # (B, D)
    if not means:
        return ActivityResult()
    variance = torch.cat(means).var(dim=0, unbiased=False)  # (D,)
    return ActivityResult(
        variance=variance.tolist(),
        kl=torch.cat(kls).mean(0).tolist() if kls else [],
        n_active=int((variance > ACTIVE_THRESHOLD).sum()),
    )


def traversal_codes(base: Tensor, dim: int, values: Sequence[float]) -> Tensor:
    """Copies of ``base`` (D,) with dimension ``dim`` set to each of ``values``: (S, D)."""
    if not 0 <= dim < base.shape[-1]:
        raise ValueError(f"dimension {dim} is outside the latent space of size {base.shape[-1]}")
    codes = base.expand(len(values), -1).clone()  # (S, D)
    codes[:, dim] = torch.as_tensor(list(values), dtype=base.dtype, device=base.device)
    return codes


def traversal_values(
    centre: float, spread: float, steps: int, *, width: float = 3.0
) -> list[float]:
    """``steps`` evenly spaced values over centre ± width * spread (spread: the data's std)."""
    if steps < 2:
        raise ValueError(f"a traversal needs at least 2 steps, got {steps}")
    half = width * max(spread, 1e-3)
    return torch.linspace(centre - half, centre + half, steps).tolist()


def interpolation_codes(start: Tensor, end: Tensor, steps: int) -> Tensor:
    """Straight line from ``start`` to ``end`` (each (D,)), both ends included: (S, D)."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps, device=start.device, dtype=start.dtype)[:, None]  # (S, 1)
    return (1 - t) * start + t * end


@torch.no_grad()
def code_of(model: GenerativeModel, given: dict[str, Tensor]) -> Tensor:
    """The posterior mean (D,) of one sample given in any subset of modalities (each (1, ...))."""
    device = model_device(model)
    mask = {m: torch.ones(1, dtype=torch.bool, device=device) for m in given}
    return model.embed({m: x.to(device) for m, x in given.items()}, mask)[0]


@torch.no_grad()
def latent_statistics(
    model: GenerativeModel, data: MultimodalData, *, split: str = "test", limit: int = 1000
) -> tuple[Tensor, Tensor]:
    """Mean and std (D,) of posterior means over up to ``limit`` rows: where traversals centre."""
    names = [m for m in model.modalities if m in data.modalities]
    rows = data.rows_with_any(split, names)[:limit]
    batch = data.batch(rows)
    device = model_device(model)
    codes = model.embed(
        {m: batch["data"][m].to(device) for m in names},
        {m: batch["mask"][m].to(device) for m in names},
    ).cpu()  # (N, D)
    return codes.mean(0), codes.std(0)


def pca_2d(codes: Tensor) -> Tensor:
    """(N, D) -> (N, 2) on the two leading principal axes (exact SVD; fast for any N)."""
    centred = codes - codes.mean(0)
    if codes.shape[1] <= 2:
        return torch.nn.functional.pad(centred, (0, 2 - codes.shape[1]))
    _, _, v = torch.linalg.svd(centred, full_matrices=False)  # v: (D, D) rows = axes
    return centred @ v[:2].T
