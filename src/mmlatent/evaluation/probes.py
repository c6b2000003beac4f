"""Task performance read off the latent space: linear probes and k-means clustering.

A latent space is useful downstream when a simple model can read the label from its codes. The
probe is the simplest such model: a multinomial logistic regression fitted on the codes of the
training split and scored on the test split, once per unimodal posterior and once for the joint
one. k-means asks the same without supervision (NMI/ARI of its clusters against the labels).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import rows_with
from mmlatent.evaluation.metrics import adjusted_rand_index, normalized_mutual_info
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel

JOINT = "joint"
"""The key of the posterior given every modality of the model."""


@dataclass
class ClusterScores:
    nmi: float
    """Normalised mutual information of k-means clusters and labels (arithmetic normalisation)."""
    ari: float
    """Adjusted Rand index of the same clusters."""


@dataclass
class ProbeResult:
    """Linear-probe accuracy and k-means scores per posterior (each modality alone, ``joint``)."""

    accuracy: dict[str, float] = field(default_factory=dict)
    """Test accuracy of a logistic regression fitted on training codes, per posterior."""
    clustering: dict[str, ClusterScores] = field(default_factory=dict)
    """k-means (k = number of classes) on test codes, per posterior."""
    n_train: dict[str, int] = field(default_factory=dict)
    n_test: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> ProbeResult:
        return cls(
            accuracy=dict(d.get("accuracy") or {}),
            clustering={k: ClusterScores(**v) for k, v in (d.get("clustering") or {}).items()},
            n_train=dict(d.get("n_train") or {}),
            n_test=dict(d.get("n_test") or {}),
        )


def linear_probe_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    *,
    seed: int = 0,
    max_iter: int = 200,
) -> float:
    """Accuracy on test codes of a logistic regression fitted on standardised training codes.

    Standardising first makes the default L2 strength mean the same on every latent scale.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed)
    )
    with warnings.catch_warnings():  # separable codes never "converge": weights keep growing
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(train_codes, train_labels)
    return float((probe.predict(test_codes) == test_labels).mean())


def kmeans_scores(
    codes: np.ndarray, labels: np.ndarray, n_clusters: int, *, seed: int = 0
) -> ClusterScores:
    """k-means with ``n_clusters`` on ``codes``, scored against ``labels`` by NMI and ARI."""
    from sklearn.cluster import KMeans

    clusters = KMeans(n_clusters, n_init=4, random_state=seed).fit_predict(codes)
    truth, found = torch.as_tensor(labels), torch.as_tensor(clusters)
    return ClusterScores(
        nmi=normalized_mutual_info(truth, found), ari=adjusted_rand_index(truth, found)
    )


@torch.no_grad()
def posterior_codes(
    model: GenerativeModel,
    data: MultimodalData,
    rows: Tensor,
    modalities: Sequence[str],
    *,
    batch_size: int,
) -> np.ndarray:
    """Posterior means (N, D) of ``rows`` given only ``modalities`` (each row must have them)."""
    device = model_device(model)
    chunks = []
    for chunk in rows.split(batch_size):
        given = {m: data.tensors[m][chunk].to(device) for m in modalities}
        mask = {m: torch.ones(len(chunk), dtype=torch.bool, device=device) for m in modalities}
        chunks.append(model.embed(given, mask).cpu())
    return torch.cat(chunks).numpy()


def probe_scores(
    model: GenerativeModel,
    data: MultimodalData,
    *,
    split: str = "test",
    batch_size: int = 256,
    max_train: int | None = None,
    seed: int = 0,
) -> ProbeResult:
    """Probe and cluster every unimodal posterior and the joint one (labelled rows only).

    ``max_train`` caps the training codes (seeded subset) to bound the fit's time.
    """
    names = [m for m in model.modalities if m in data.modalities]
    posteriors: dict[str, list[str]] = {m: [m] for m in names}
    if len(names) > 1:
        posteriors[JOINT] = names
    n_classes = int(data.labels[data.labels >= 0].max()) + 1
    result = ProbeResult()
    for key, given in posteriors.items():
        train, test = rows_with(data, "train", given), rows_with(data, split, given)
        if max_train is not None and len(train) > max_train:
            pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
            train = train[pick[:max_train]].sort().values
        if len(train) == 0 or len(test) == 0:
            continue
        train_codes = posterior_codes(model, data, train, given, batch_size=batch_size)
        test_codes = posterior_codes(model, data, test, given, batch_size=batch_size)
        train_y, test_y = data.labels[train].numpy(), data.labels[test].numpy()
        if len(np.unique(train_y)) > 1:
            result.accuracy[key] = linear_probe_accuracy(
                train_codes, train_y, test_codes, test_y, seed=seed
            )
        if len(test) >= n_classes:
            result.clustering[key] = kmeans_scores(test_codes, test_y, n_classes, seed=seed)
        result.n_train[key], result.n_test[key] = len(train), len(test)
    return result
