"""A second judge per modality that shares neither architecture nor front end with the first.

Coherence is only as honest as its judge: a CNN may read artefacts of generated samples (blur,
smeared spectrograms) in ways a different classifier would not. Each second judge pairs another
front end with a classical classifier from scikit-learn, trained on real training data only:

* image: 2 x 2 average pooling and per-image standardisation, an RBF support-vector machine;
* audio: MFCCs (a DCT of the log-mel over frequency, 13 coefficients) averaged over the clip and
  over four stretches of a quarter of its energy each, a logistic regression;
* text: a bag of token ids (word order ignored), a logistic regression;
* vector: standardised values, a logistic regression.

They train in seconds and are rebuilt per evaluation rather than cached (nothing to unpickle).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.text import BOS_ID, EOS_ID, PAD_ID
from mmlatent.evaluation.judges import labelled_rows
from mmlatent.types import ModalitySpec

N_MFCC = 13

FrontEnd = Callable[[Tensor, ModalitySpec], np.ndarray]


@dataclass
class Recipe:
    """How a second judge sees (``front_end``) and decides (``classifier()``)."""

    front_end: FrontEnd
    classifier: Callable[[], Any]
    about: str
    """One line for the report and ``metrics.json``."""


def pooled_pixel_features(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C*H/2*W/2): halved resolution, each image standardised on its own."""
    pooled = torch.nn.functional.avg_pool2d(x.float(), 2).flatten(1)  # (B, C*H/2*W/2)
    return (pooled - pooled.mean(1, keepdim=True)) / (pooled.std(1, keepdim=True) + 1e-6)


def pooled_pixels(x: Tensor, spec: ModalitySpec) -> np.ndarray:
    """The image judge's front end: :func:`pooled_pixel_features` as an array."""
    return pooled_pixel_features(x).numpy()


def dct_matrix(n_in: int, n_out: int) -> Tensor:
    """Orthonormal DCT-II basis (n_out, n_in): the cepstrum of a log spectrum."""
    k = torch.arange(n_out, dtype=torch.float64)[:, None]
    n = torch.arange(n_in, dtype=torch.float64)[None, :]
    basis = torch.cos(math.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    basis[0] /= math.sqrt(2.0)
    return basis.float()


def mfcc(x: Tensor) -> Tensor:
    """Log-mel (B, C, mels, frames) -> MFCCs (B, 13, frames), channels averaged."""
    mel = x.float().mean(1)  # (B, mels, frames)
    return torch.einsum("km,bmt->bkt", dct_matrix(mel.shape[1], N_MFCC), mel)


def mfcc_trajectory(x: Tensor, spec: ModalitySpec) -> np.ndarray:
    """MFCC means over the whole clip and over four stretches holding a quarter of its energy
    each: (B, 5 * 13). The stretches follow the word wherever it starts; averaging within them
    keeps the spectral envelope's path and drops fine texture (frame-to-frame jitter, harmonics),
    which generated log-mels lack and a judge must not read as content (docs/evaluation.md)."""
    cepstra = mfcc(x)  # (B, 13, T)
    energy = x.float().mean(dim=(1, 2))  # (B, T)
    weight = energy - energy.min(-1, keepdim=True).values
    cumulative = (weight / weight.sum(-1, keepdim=True).clamp_min(1e-8)).cumsum(-1)  # (B, T)
    features = [cepstra.mean(-1)]
    for low, high in ((-1.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 2.0)):
        inside = ((cumulative > low) & (cumulative <= high)).float()[:, None]  # (B, 1, T)
        features.append((cepstra * inside).sum(-1) / inside.sum(-1).clamp_min(1))
    return torch.cat(features, dim=1).numpy()


def bag_of_tokens(x: Tensor, spec: ModalitySpec) -> np.ndarray:
    """Token ids (B, L) -> counts (B, vocab) of each id, special tokens left out."""
    assert spec.vocab_size is not None
    ids = x.long().clamp(0, spec.vocab_size - 1)
    counts = torch.zeros(len(ids), spec.vocab_size).scatter_add_(1, ids, torch.ones(ids.shape))
    counts[:, [PAD_ID, BOS_ID, EOS_ID]] = 0
    return counts.numpy()


def raw_values(x: Tensor, spec: ModalitySpec) -> np.ndarray:
    return x.float().flatten(1).numpy()


def _svm() -> Any:
    from sklearn.svm import SVC

    return SVC(kernel="rbf", C=5.0)


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))


RECIPES: dict[str, Recipe] = {
    "image": Recipe(pooled_pixels, _svm, "RBF SVM on 2x2-pooled, standardised pixels"),
    "audio": Recipe(
        mfcc_trajectory, _logistic, "logistic regression on MFCC means over energy quarters"
    ),
    "text": Recipe(bag_of_tokens, _logistic, "logistic regression on a bag of tokens"),
    "vector": Recipe(raw_values, _logistic, "logistic regression on standardised values"),
}
"""One recipe per modality kind."""


@dataclass
class SecondJudge:
    """A fitted second judge; ``predict`` takes the same tensors as the first judge's."""

    name: str
    spec: ModalitySpec
    recipe: Recipe
    model: Any
    accuracy: float
    """Accuracy on the real test split (NaN without labelled test rows)."""

    @property
    def about(self) -> str:
        return self.recipe.about

    def predict(self, x: Tensor) -> Tensor:
        if len(x) == 0:
            return torch.empty(0, dtype=torch.long)
        features = self.recipe.front_end(x.detach().cpu(), self.spec)
        return torch.as_tensor(self.model.predict(features), dtype=torch.long)


def train_second_judges(
    data: MultimodalData,
    *,
    modalities: list[str] | None = None,
    max_train: int = 5000,
    seed: int = 0,
) -> dict[str, SecondJudge]:
    """A second judge per labelled modality of ``data`` with a recipe for its kind."""
    if not data.has_labels:
        return {}
    judges = {}
    for name, modality in data.modalities.items():
        spec = modality.spec
        if (modalities is not None and name not in modalities) or spec.kind not in RECIPES:
            continue
        train, test = labelled_rows(data, name, "train"), labelled_rows(data, name, "test")
        if len(train) > max_train:
            pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
            train = train[pick[:max_train]]
        if len(train) == 0 or len(data.labels[train].unique()) < 2:
            continue
        recipe = RECIPES[spec.kind]
        model = recipe.classifier()
        model.fit(recipe.front_end(data.tensors[name][train], spec), data.labels[train].numpy())
        judge = SecondJudge(name, spec, recipe, model, math.nan)
        if len(test):
            hits = judge.predict(data.tensors[name][test]) == data.labels[test]
            judge.accuracy = float(hits.float().mean())
        judges[name] = judge
    return judges
