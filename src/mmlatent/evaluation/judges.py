"""Judges: one classifier per labelled modality, trained on the real training split.

Coherence asks "does the generated image show the digit the caption names?"; a judge answers it.
Every model on a data set must be scored by the *same* judge, so judges are trained once per data
set (keyed by ``MultimodalData.fingerprint``) and cached as safetensors weights plus a JSON card;
loading never unpickles.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.judge_networks import build_judge_network
from mmlatent.types import ModalitySpec

JUDGE_FORMAT_VERSION = 2
"""Bump when networks or training change, so that stale cached judges are retrained."""


@dataclass
class Judge:
    """A trained classifier for one modality, in its preprocessed tensor format."""

    name: str
    """Modality name (key in batches)."""
    spec: ModalitySpec
    network: nn.Module
    n_classes: int
    accuracy: float
    """Accuracy on the test split of the real data (NaN if that split has no labelled rows)."""
    epochs: int
    """Epoch whose weights were kept (best validation loss)."""

    @torch.no_grad()
    def predict(self, x: Tensor, *, batch_size: int = 1024) -> Tensor:
        """Predicted labels (long, on ``x``'s device) for a batch shaped (B, *spec.shape)."""
        if tuple(x.shape[1:]) != self.spec.shape:
            raise ValueError(
                f"judge {self.name!r} expects (B, {self.spec.shape}), got {tuple(x.shape)}"
            )
        self.network.to(x.device).eval()
        if len(x) == 0:
            return torch.empty(0, dtype=torch.long, device=x.device)
        return torch.cat([self.network(chunk).argmax(-1) for chunk in x.split(batch_size)])

    def card(self) -> dict[str, Any]:
        """The JSON-safe description saved beside the weights."""
        return {
            "format_version": JUDGE_FORMAT_VERSION,
            "name": self.name,
            "spec": self.spec.to_dict(),
            "n_classes": self.n_classes,
            "accuracy": None if math.isnan(self.accuracy) else self.accuracy,
            "epochs": self.epochs,
        }

    def save(self, directory: Path) -> None:
        """Write ``<name>.safetensors`` and ``<name>.json`` (weights first, card last = complete)."""
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
        _atomic_write(directory / f"{self.name}.safetensors", lambda p: save_file(state, str(p)))
        card = json.dumps(self.card(), indent=2)
        _atomic_write(directory / f"{self.name}.json", lambda p: p.write_text(card))

    @classmethod
    def load(cls, directory: Path, name: str) -> Judge:
        card = json.loads((directory / f"{name}.json").read_text())
        spec = ModalitySpec.from_dict(card["spec"])
        network = build_judge_network(spec, card["n_classes"])
        network.load_state_dict(load_file(str(directory / f"{name}.safetensors")))
        accuracy = math.nan if card["accuracy"] is None else float(card["accuracy"])
        return cls(name, spec, network.eval(), card["n_classes"], accuracy, card["epochs"])


def default_cache_dir() -> Path:
    """``$MMLATENT_CACHE/judges``, or ``~/.cache/mmlatent/judges``."""
    root = os.environ.get("MMLATENT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "mmlatent") / "judges"


def train_judges(
    data: MultimodalData,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    modalities: Sequence[str] | None = None,
    seed: int = 0,
    max_epochs: int = 20,
    patience: int = 3,
    batch_size: int = 128,
    lr: float = 2e-3,
) -> dict[str, Judge]:
    """A judge per labelled modality of ``data``, loaded from the cache or trained and cached.

    Returns ``{}`` when the data set has no labels (coherence is then unavailable). Judges are
    cached under ``cache_dir/<data.fingerprint>/`` (default :func:`default_cache_dir`); a data set
    without a fingerprint is never cached, since nothing would tell its judges apart.
    ``modalities`` limits which judges are built (default: every modality).
    """
    if not data.has_labels:
        return {}
    directory = (cache_dir or default_cache_dir()) / data.fingerprint
    cacheable = use_cache and bool(data.fingerprint)
    n_classes = _n_classes(data)
    judges: dict[str, Judge] = {}
    for name, modality in data.modalities.items():
        if modalities is not None and name not in modalities:
            continue
        rows = {split: labelled_rows(data, name, split) for split in ("train", "val", "test")}
        if len(rows["train"]) == 0:
            continue
        spec = modality.spec
        if cacheable and _cached(directory, name, spec, n_classes):
            judges[name] = Judge.load(directory, name)
            continue
        judges[name] = _train_one(
            data, name, spec, n_classes, rows,
            seed=seed, max_epochs=max_epochs, patience=patience, batch_size=batch_size, lr=lr,
        )  # fmt: skip
        if cacheable:
            judges[name].save(directory)
    return judges


def labelled_rows(data: MultimodalData, modality: str, split: str) -> Tensor:
    """Indices of ``split`` where ``modality`` is present and the label is known."""
    idx = data.splits[split]
    keep = data.masks[modality][idx] & (data.labels[idx] >= 0)
    return idx[keep]


def _n_classes(data: MultimodalData) -> int:
    return len(data.label_names) if data.label_names else int(data.labels.max()) + 1


def _cached(directory: Path, name: str, spec: ModalitySpec, n_classes: int) -> bool:
    card_path = directory / f"{name}.json"
    if not (card_path.exists() and (directory / f"{name}.safetensors").exists()):
        return False
    card = json.loads(card_path.read_text())
    return (
        card.get("format_version") == JUDGE_FORMAT_VERSION
        and card.get("spec") == spec.to_dict()
        and card.get("n_classes") == n_classes
    )


def _train_one(
    data: MultimodalData,
    name: str,
    spec: ModalitySpec,
    n_classes: int,
    rows: dict[str, Tensor],
    **options: Any,
) -> Judge:
    """Fit one judge with early stopping on validation loss; score it on the test split."""
    from mmlatent.evaluation.judge_training import fit_classifier  # Lightning only when training

    x, y = data.tensors[name], data.labels
    train, val = rows["train"], rows["val"]
    if len(val) == 0:  # hold out a tenth of train rather than stop on the training loss
        cut = max(1, len(train) // 10)
        train, val = train[cut:], train[:cut]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options["seed"])
        network = build_judge_network(spec, n_classes)
        fit = fit_classifier(network, (x[train], y[train]), (x[val], y[val]), **options)
    judge = Judge(name, spec, network.eval(), n_classes, math.nan, fit.best_epoch)
    test = rows["test"]
    if len(test) > 0:
        judge.accuracy = float((judge.predict(x[test]) == y[test]).float().mean())
    return judge


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary sibling, so a concurrent reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    tmp.replace(path)
