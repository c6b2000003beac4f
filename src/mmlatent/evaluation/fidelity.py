"""Judging generators by their samples alone: FID, KID, precision/recall and mode coverage.

FID and KID are torchmetrics' own (``feature=`` hook), fed the penultimate-layer features of the
project's judge for the modality instead of Inception's: nothing is downloaded, and the same
features serve images and log-mel spectrograms (any modality of shape (C, H, W)). Precision and
recall are the k-nearest-neighbour manifold estimates of Kynkäänniemi et al., "Improved Precision
and Recall Metric for Assessing Generative Models", NeurIPS 2019; mode coverage is the histogram
and entropy of the labels the judge gives unconditional samples. The maths sits in the pure
functions; the ``Metric`` classes only accumulate.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from mmlatent.evaluation.judges import Judge

PR_NEIGHBOURS = 3
"""k of the k-NN radii: Kynkäänniemi et al.'s choice (sec. 3)."""


# --- pure functions ------------------------------------------------------------------------------
def knn_radii(points: Tensor, k: int) -> Tensor:
    """(N,) distance from each point to its k-th nearest other point."""
    if len(points) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} points, got {len(points)}")
    distances = torch.cdist(points, points)  # (N, N), zero diagonal
    return distances.kthvalue(k + 1, dim=1).values  # k + 1: the point itself comes first


def manifold_share(points: Tensor, centres: Tensor, radii: Tensor) -> Tensor:
    """Share of ``points`` inside at least one ball (centre, radius): inside the k-NN manifold."""
    inside = torch.cdist(points, centres) <= radii[None, :]  # (P, C)
    return inside.any(dim=1).float().mean()


def precision_recall(real: Tensor, fake: Tensor, k: int = PR_NEIGHBOURS) -> tuple[Tensor, Tensor]:
    """Precision: generated samples on the real manifold; recall: real samples on the generated one."""
    real, fake = real.double(), fake.double()
    precision = manifold_share(fake, real, knn_radii(real, k))
    recall = manifold_share(real, fake, knn_radii(fake, k))
    return precision, recall


def mode_coverage(counts: Tensor) -> dict[str, Any]:
    """From per-class counts of judged labels: ``histogram`` (shares), ``entropy`` (nats),
    ``normalised_entropy`` (1 = uniform over all classes) and ``modes_covered``, the classes that
    received at least half the uniform share (a handful of stray samples do not cover a mode)."""
    total = counts.sum()
    if total == 0:
        raise ValueError("mode coverage needs at least one judged sample")
    shares = counts.double() / total
    entropy = float(-(shares[shares > 0] * shares[shares > 0].log()).sum())
    k = len(counts)
    return {
        "histogram": [round(float(s), 4) for s in shares],
        "entropy": entropy,
        "normalised_entropy": entropy / math.log(k) if k > 1 else 1.0,
        "modes_covered": int((shares >= 0.5 / k).sum()),
        "n_classes": k,
    }


# --- feature extractor -----------------------------------------------------------------------------
class JudgeFeatures(nn.Module):
    """A judge's penultimate-layer features (the input of its last linear layer), as torchmetrics'
    ``feature=`` module: ``forward(x) -> (B, num_features)`` on preprocessed tensors.

    The batch's features are kept until another batch comes, so the FID, KID and precision/recall
    of one batch (the same tensor object) run the judge once.
    """

    def __init__(self, judge: Judge) -> None:
        super().__init__()
        self.network = judge.network
        heads = [m for m in self.network.modules() if isinstance(m, nn.Linear)]
        if not heads:
            raise ValueError(f"judge {judge.name!r} has no linear layer to take features before")
        self.head = heads[-1]
        self.num_features = self.head.in_features
        self._last: tuple[Tensor, Tensor] | None = None

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if self._last is not None and self._last[0] is x:
            return self._last[1]
        captured: list[Tensor] = []
        # hooked only for this call: the judge is shared, and must not keep our hook
        hook = self.head.register_forward_pre_hook(lambda _, inputs: captured.append(inputs[0]))
        try:
            self.network.to(x.device).train(False)  # dropout off, whatever the metric's mode
            self.network(x)
        finally:
            hook.remove()
        features = captured[0].flatten(1).float()  # (B, num_features)
        self._last = (x, features)
        return features


# --- metrics -----------------------------------------------------------------------------------------
class ManifoldPrecisionRecall(Metric):
    """Kynkäänniemi et al.'s precision and recall on ``feature(x)``, like torchmetrics' FID:
    ``update(x, real=...)``; ``reset_real_features=False`` keeps the real set across resets."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    real_features: list[Tensor]
    fake_features: list[Tensor]

    def __init__(
        self,
        feature: nn.Module,
        k: int = PR_NEIGHBOURS,
        reset_real_features: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.feature, self.k, self.reset_real_features = feature, k, reset_real_features
        self.add_state("real_features", [], dist_reduce_fx="cat")
        self.add_state("fake_features", [], dist_reduce_fx="cat")

    def update(self, x: Tensor, real: bool) -> None:
        (self.real_features if real else self.fake_features).append(self.feature(x))

    def compute(self) -> dict[str, Tensor]:
        """NaN (reported as null) when either set has no more than k samples: no k-NN radius."""
        real, fake = torch.cat(self.real_features), torch.cat(self.fake_features)
        if min(len(real), len(fake)) <= self.k:
            nan = torch.tensor(float("nan"))
            return {"precision": nan, "recall": nan}
        precision, recall = precision_recall(real, fake, self.k)
        return {"precision": precision, "recall": recall}

    def reset(self) -> None:
        real = list(self.real_features)  # reset empties the list it holds
        super().reset()
        if not self.reset_real_features:
            self.real_features = real


class LabelHistogram(Metric):
    """Counts of judged labels (running sums); ``compute()`` is :func:`mode_coverage`'s dict."""

    full_state_update = False
    is_differentiable = False

    counts: Tensor

    def __init__(self, n_classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("counts", torch.zeros(n_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, labels: Tensor) -> None:
        self.counts += torch.bincount(labels.long().cpu(), minlength=len(self.counts))

    def compute(self) -> dict[str, Any]:
        return mode_coverage(self.counts)


class JudgeFidelity:
    """FID, KID and precision/recall of one image-like modality, through its judge's features.

    ``update_real`` once, then per generator: ``reset()``, ``update_fake`` batches, ``compute()``.
    ``max_samples`` sizes KID's subsets (at most 1,000, as in Bińkowski et al.).
    """

    def __init__(self, judge: Judge, max_samples: int, kid_subsets: int = 50) -> None:
        features = JudgeFeatures(judge)
        self.fid = FrechetInceptionDistance(feature=features, reset_real_features=False)
        with warnings.catch_warnings():  # it warns that it keeps the features: ours are few
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.kid = KernelInceptionDistance(
                feature=features,
                subsets=kid_subsets,
                subset_size=max(2, min(1000, max_samples)),
                reset_real_features=False,
            )
        self.pr = ManifoldPrecisionRecall(features, reset_real_features=False)
        self.metrics: tuple[Metric, ...] = (self.fid, self.kid, self.pr)

    def update_real(self, x: Tensor) -> None:
        for metric in self.metrics:
            metric.update(x, real=True)

    def update_fake(self, x: Tensor) -> None:
        for metric in self.metrics:
            metric.update(x, real=False)

    def reset(self) -> None:
        for metric in self.metrics:
            metric.reset()

    def compute(self, seed: int = 0) -> dict[str, float]:
        """KID draws its subsets from torch's global RNG: seeded here, the caller's state kept."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            kid_mean, kid_std = self.kid.compute()
        pr = self.pr.compute()
        return {
            "fid": float(self.fid.compute()),
            "kid": float(kid_mean),
            "kid_std": float(kid_std),
            "precision": float(pr["precision"]),
            "recall": float(pr["recall"]),
        }


def image_like(judge: Judge) -> bool:
    """FID's kind of input: a (C, H, W) tensor, as images and log-mel spectrograms are."""
    return len(judge.spec.shape) == 3
