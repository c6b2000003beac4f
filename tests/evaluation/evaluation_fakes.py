"""Small fakes for evaluation and report tests: modalities, a labelled data set, a model.

The data are class prototypes plus noise, so a judge can learn them in a second; the model is an
"oracle" that reads the class off its inputs and draws that class's prototype, so coherence has a
known right answer (1.0, or 0.0 when ``shift`` relabels every generated sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from mmlatent.data.datasets.base import MultimodalData, random_splits
from mmlatent.data.modalities import Modality
from mmlatent.evaluation.judges import Judge
from mmlatent.models.base import Capabilities, GenerativeModel, LossOutput
from mmlatent.types import ModalitySpec

N_CLASSES = 4
PAD = 0


@dataclass
class FakeWaveform:
    samples: np.ndarray
    sample_rate: int


class FakeModality(Modality):
    """A modality with a fixed spec; postprocess/preprocess follow the real classes' formats."""

    suffix: ClassVar[str] = ".bin"

    def __init__(self, name: str, spec: ModalitySpec) -> None:
        super().__init__(name)
        self._spec = spec
        self.kind = spec.kind  # type: ignore[misc]

    @property
    def spec(self) -> ModalitySpec:
        return self._spec

    def load(self, path: str | Path) -> Any:
        raise NotImplementedError("fakes have no files")

    def preprocess(self, raw: Any) -> Tensor:
        if self.kind == "audio":  # the exact inverse of postprocess: a lossless "Griffin-Lim"
            return torch.from_numpy((raw.samples + 1) / 2).float().reshape(self.spec.shape)
        raise NotImplementedError

    def postprocess(self, x: Tensor) -> Any:
        if self.kind == "image":
            return (x.clamp(0, 1)[0].numpy() * 255).astype(np.uint8)  # (H, W) uint8
        if self.kind == "text":
            return " ".join(f"w{int(i)}" for i in x if int(i) != PAD)
        if self.kind == "audio":
            return FakeWaveform(x.flatten().numpy() * 2 - 1, 8000)
        return x.numpy()

    def save(self, raw: Any, path: str | Path) -> Path:
        raise NotImplementedError("fakes have no files")

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "spec": self.spec.to_dict()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Modality:
        return cls(state["name"], ModalitySpec.from_dict(state["spec"]))


SPECS = {
    "image": ModalitySpec(name="image", kind="image", shape=(1, 8, 8), likelihood="bernoulli"),
    "text": ModalitySpec(
        name="text", kind="text", shape=(4,), likelihood="categorical", vocab_size=8
    ),
    "audio": ModalitySpec(name="audio", kind="audio", shape=(1, 4, 6), likelihood="gaussian"),
    "vector": ModalitySpec(name="vector", kind="vector", shape=(5,), likelihood="gaussian"),
}


def prototypes(seed: int = 0) -> dict[str, Tensor]:
    """One clean sample per class and modality: (N_CLASSES, *shape)."""
    g = torch.Generator().manual_seed(seed)
    protos = {}
    for name, spec in SPECS.items():
        if spec.kind == "text":
            k = torch.arange(N_CLASSES)
            protos[name] = torch.stack(
                [torch.ones_like(k), k + 2, (k + 1) % N_CLASSES + 2, 0 * k], 1
            )
        else:
            protos[name] = (torch.rand((N_CLASSES, *spec.shape), generator=g) > 0.5).float()
    return protos


def make_data(
    n: int = 160,
    *,
    modalities: Sequence[str] = ("image", "text", "audio"),
    labelled: bool = True,
    noise: float = 0.15,
    seed: int = 0,
    missing: float = 0.0,
    fingerprint: str = "fake-v1",
) -> MultimodalData:
    """Prototype + noise per class; ``missing`` drops that fraction of each modality's rows."""
    g = torch.Generator().manual_seed(seed + 1)
    labels = torch.arange(n) % N_CLASSES
    protos = prototypes()
    tensors, masks = {}, {}
    for name in modalities:
        clean = protos[name][labels]
        if SPECS[name].kind == "text":
            tensors[name] = clean.clone()
        else:
            tensors[name] = (clean + noise * torch.randn(clean.shape, generator=g)).clamp(0, 1)
        masks[name] = torch.rand(n, generator=g) >= missing
    return MultimodalData(
        name="fake",
        modalities={m: FakeModality(m, SPECS[m]) for m in modalities},
        tensors=tensors,
        masks=masks,
        labels=labels if labelled else torch.full((n,), -1),
        splits=random_splits(n, val_fraction=0.2, test_fraction=0.25, seed=seed),
        label_names=[f"class{k}" for k in range(N_CLASSES)] if labelled else None,
        fingerprint=fingerprint,
    )


@dataclass
class FakePosterior:
    mean: Tensor


class OracleModel(GenerativeModel):
    """Encodes the class (nearest prototype) as a one-hot code; decodes class ``(k + shift) % K``."""

    capabilities = Capabilities(family="test oracle", fusion="nearest prototype", paper="none")

    def __init__(self, specs: dict[str, ModalitySpec], shift: int = 0) -> None:
        super().__init__(specs, config=None)
        self.shift = shift
        self.dummy = nn.Parameter(torch.zeros(1))  # a parameter, so the model has a device
        self.protos = {m: p for m, p in prototypes().items() if m in specs}

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> FakePosterior:
        scores = sum(self._scores(m, x) * mask[m][:, None] for m, x in data.items())
        return FakePosterior(torch.eye(N_CLASSES)[scores.argmax(-1)])  # (B, K)

    def _scores(self, m: str, x: Tensor) -> Tensor:
        flat = x.flatten(1).float()  # (B, D)
        return -torch.cdist(flat, self.protos[m].flatten(1).float())  # (B, K)

    def decode(self, z: Tensor, targets: Sequence[str] | None = None) -> dict[str, Tensor]:
        k = (z.argmax(-1) + self.shift) % N_CLASSES
        return {m: self.protos[m][k].clone() for m in targets or self.modalities}

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        zero = self.dummy.sum() * 0
        return LossOutput(zero, {})

    def generate(
        self,
        n: int | None = None,
        *,
        given: dict[str, Tensor] | None = None,
        targets: Sequence[str] | None = None,
        latent: Tensor | None = None,
        temperature: float = 1.0,
    ) -> dict[str, Tensor]:
        if sum(x is not None for x in (n, given, latent)) != 1:
            raise ValueError("exactly one of n, given, latent")
        if given is not None:
            mask = {m: torch.ones(len(x), dtype=torch.bool) for m, x in given.items()}
            z = self.encode(given, mask).mean
        elif latent is not None:
            z = latent
        else:
            z = torch.eye(N_CLASSES)[torch.randint(N_CLASSES, (n,))]
        return self.decode(z, targets)


class PrototypeClassifier(nn.Module):
    """A perfect judge for the fake data: nearest class prototype."""

    def __init__(self, protos: Tensor) -> None:
        super().__init__()
        self.register_buffer("protos", protos.flatten(1).float())

    def forward(self, x: Tensor) -> Tensor:
        return -torch.cdist(x.flatten(1).float(), self.protos)


def oracle_judges(modalities: Sequence[str] = ("image", "text", "audio")) -> dict[str, Judge]:
    protos = prototypes()
    return {
        m: Judge(m, SPECS[m], PrototypeClassifier(protos[m]), N_CLASSES, accuracy=1.0, epochs=0)
        for m in modalities
    }
