"""A run directory: everything needed to reload, regenerate and re-score a trained model.

Layout (``runs/<name>/``): ``config.yaml`` (the whole RunConfig), ``modalities.json`` (each
modality's state, the learned vocabulary included), ``model.safetensors`` (weights, with the model
name, config and modality specs in its metadata, so it loads without the YAML), ``checkpoints/``
(Lightning's, for resuming), ``logs/metrics.csv``, ``progress/`` (a sample grid per epoch),
``metrics.json``, ``report.html``.
Loading reads only YAML, JSON and safetensors: no pickled code is ever executed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model
from torch import Tensor

from mmlatent.config import RunConfig
from mmlatent.data.modalities import Modality
from mmlatent.models import build_model
from mmlatent.models.base import GenerativeModel
from mmlatent.types import ModalitySpec

CONFIG_FILE = "config.yaml"
MODALITIES_FILE = "modalities.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
PROGRESS_DIR = "progress"


class RunError(ValueError):
    """A run directory is missing a file or holds something unreadable; the message names it."""


@dataclass
class Run:
    path: Path
    config: RunConfig
    model: GenerativeModel
    modalities: dict[str, Modality]
    samplers: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Latent samplers fitted to this run's codes, by name and options (see workflows.fit_sampler)."""

    # --- saving and loading --------------------------------------------------------------------
    def save_metadata(self) -> None:
        """Config and modality states: written before training so a crashed run still documents itself."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.config.to_yaml(self.path / CONFIG_FILE)
        states = {name: m.state() for name, m in self.modalities.items()}
        (self.path / MODALITIES_FILE).write_text(json.dumps(states, indent=2))

    def save(self) -> None:
        self.save_metadata()
        metadata = {
            "model": self.config.model.name,
            "model_config": json.dumps(self.model.config_dict()),
            "specs": json.dumps({n: s.to_dict() for n, s in self.model.specs.items()}),
        }
        save_model(self.model, str(self.path / WEIGHTS_FILE), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> Run:
        path = Path(path)
        for name in (CONFIG_FILE, MODALITIES_FILE, WEIGHTS_FILE):
            if not (path / name).is_file():
                raise RunError(
                    f"{path / name} is missing: is {path} a finished `mmlatent fit` run?"
                )
        config = RunConfig.from_yaml(path / CONFIG_FILE)
        try:
            states = json.loads((path / MODALITIES_FILE).read_text())
        except json.JSONDecodeError as err:
            raise RunError(f"{path / MODALITIES_FILE}: not valid JSON ({err})") from err
        modalities = {name: Modality.from_state(state) for name, state in states.items()}
        model = load_weights(path / WEIGHTS_FILE)
        return cls(path=path, config=config, model=model, modalities=modalities)

    # --- generation from raw inputs --------------------------------------------------------------
    def preprocess(self, given: Mapping[str, Sequence[Any]]) -> dict[str, Tensor]:
        """Raw inputs (strings, image arrays, waveforms) -> stacked tensors on the model's device."""
        device = next(self.model.parameters()).device
        out = {}
        for name, raws in given.items():
            if name not in self.modalities:
                raise ValueError(
                    f"unknown modality {name!r}; this run has {', '.join(self.modalities)}"
                )
            out[name] = torch.stack([self.modalities[name].preprocess(r) for r in raws]).to(device)
        return out

    @torch.no_grad()
    def generate(
        self,
        *,
        given: Mapping[str, Sequence[Any]] | None = None,
        targets: Sequence[str] | None = None,
        n: int | None = None,
        latent: Tensor | None = None,
        seed: int | None = None,
    ) -> dict[str, list[Any]]:
        """Generate raw outputs (strings, uint8 images, waveforms) per target modality.

        With ``given``, each given list must have the same length; with ``n`` as well, a single
        given item is repeated ``n`` times (n different draws from its posterior). ``targets``
        defaults to what the model makes by default (every modality it has, or a GAN's one).
        """
        targets = list(targets) if targets else None
        unknown = [t for t in targets or [] if t not in self.modalities]
        if unknown:
            raise ValueError(
                f"unknown target {unknown[0]!r}; this run has {', '.join(self.modalities)}"
            )
        if seed is not None:
            torch.manual_seed(seed)
        self.model.eval()
        if given:
            tensors = self.preprocess(given)
            if n is not None:
                tensors = {k: _repeat_to(v, n, k) for k, v in tensors.items()}
            out = self.model.generate(given=tensors, targets=targets)
        elif latent is not None:
            out = self.model.generate(latent=latent, targets=targets)
        else:
            out = self.model.generate(n or 1, targets=targets)
        return {t: [self.modalities[t].postprocess(x.cpu()) for x in xs] for t, xs in out.items()}

    def write_outputs(
        self, outputs: dict[str, list[Any]], out_dir: str | Path, prefix: str = "sample"
    ) -> list[Path]:
        """Write every generated item as a file (PNG, WAV, TXT): ``{prefix}_{i:03d}_{modality}``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, items in outputs.items():
            for i, raw in enumerate(items):
                written.append(
                    self.modalities[name].save(raw, out_dir / f"{prefix}_{i:03d}_{name}")
                )
        return written

    def metrics(self) -> dict[str, Any]:
        path = self.path / METRICS_FILE
        return json.loads(path.read_text()) if path.is_file() else {}


def load_weights(path: Path) -> GenerativeModel:
    """Rebuild a model from a ``model.safetensors`` alone (name, config and specs are in its metadata)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    try:
        specs = {n: ModalitySpec.from_dict(s) for n, s in json.loads(meta["specs"]).items()}
        model = build_model(meta["model"], specs, json.loads(meta["model_config"]))
    except (KeyError, json.JSONDecodeError) as err:
        raise RunError(f"{path}: metadata lacks the model description ({err})") from err
    load_model(model, str(path))
    return model.eval()


def _repeat_to(x: Tensor, n: int, name: str) -> Tensor:
    if len(x) == n:
        return x
    if len(x) != 1:
        raise ValueError(f"given {name!r} has {len(x)} items; with n={n} give 1 or {n}")
    return x.expand(n, *x.shape[1:]).clone()
