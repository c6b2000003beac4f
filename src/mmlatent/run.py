"""A run directory: everything needed to reload, regenerate and re-score a trained model.

Layout (``runs/<name>/``): ``config.yaml`` (the whole RunConfig), ``modalities.json`` (each
modality's state, the learned vocabulary included), ``model.safetensors`` (weights, with the model
name, config and modality specs in its metadata, so it loads without the YAML), ``checkpoints/``
(Lightning's, for resuming), ``logs/metrics.csv``, ``progress/`` (a sample grid per epoch),
``metrics.json``, ``report.html``.
Loading reads only YAML, JSON and safetensors: no pickled code is ever executed. Every file is
written atomically (:mod:`mmlatent.atomic`), so a killed run never leaves a half-written file that
looks whole; a run whose training did not finish has no ``model.safetensors`` and says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import Tensor

from mmlatent.atomic import atomic_write, atomic_write_text
from mmlatent.config import RunConfig
from mmlatent.data.datasets import MultimodalData, load_dataset, shape_options
from mmlatent.data.modalities import Modality
from mmlatent.latent.temperature import check_temperature
from mmlatent.models import build_model
from mmlatent.models.base import GenerativeModel
from mmlatent.types import ModalitySpec

CONFIG_FILE = "config.yaml"
MODALITIES_FILE = "modalities.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
PROGRESS_DIR = "progress"
RESUME_CHECKPOINT = "checkpoints/resume.ckpt"
"""Written every ``train.checkpoint_every_n_steps`` steps and on SIGTERM/SIGINT; ``mmlatent fit
--resume RUN`` continues from it."""


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
        atomic_write(self.path / CONFIG_FILE, self.config.to_yaml)
        states = {name: m.state() for name, m in self.modalities.items()}
        atomic_write_text(self.path / MODALITIES_FILE, json.dumps(states, indent=2))

    def save(self) -> None:
        self.save_metadata()
        metadata = {
            "model": self.config.model.name,
            "model_config": json.dumps(self.model.config_dict()),
            "specs": json.dumps({n: s.to_dict() for n, s in self.model.specs.items()}),
        }
        atomic_write(
            self.path / WEIGHTS_FILE,
            lambda tmp: save_model(self.model, str(tmp), metadata=metadata),
        )

    @classmethod
    def load(cls, path: str | Path) -> Run:
        path = Path(path)
        check_complete(path)
        config = RunConfig.from_yaml(path / CONFIG_FILE)
        modalities = read_modalities(path)
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
        temperature: float = 1.0,
    ) -> dict[str, list[Any]]:
        """Generate raw outputs (strings, uint8 images, waveforms) per target modality.

        With ``given``, each given list must have the same length; with ``n`` as well, a single
        given item is repeated ``n`` times (n different draws from its posterior). ``targets``
        defaults to what the model makes by default (every modality it has, or a GAN's one).
        ``temperature`` pulls each draw toward its mean: 1 draws, 0 decodes the mean
        (``GenerativeModel.generate``).
        """
        check_temperature(temperature)
        if n is not None and n < 1:
            raise ValueError(f"n must be a positive number of samples, got {n}")
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
            out = self.model.generate(given=tensors, targets=targets, temperature=temperature)
        elif latent is not None:
            out = self.model.generate(latent=latent, targets=targets)
        else:
            out = self.model.generate(n or 1, targets=targets, temperature=temperature)
        # One batched call per modality: audio's Griffin-Lim runs once over all clips.
        return {t: self.modalities[t].postprocess_many(xs.cpu()) for t, xs in out.items()}

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
        if not path.is_file():
            return {}
        try:
            return dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as err:
            raise RunError(
                f"{path}: not valid metrics JSON ({err}); run `mmlatent evaluate`"
            ) from err


def check_complete(path: Path) -> None:
    """Raise a ``RunError`` naming every file a loadable run lacks, and how to finish the run."""
    missing = [n for n in (CONFIG_FILE, MODALITIES_FILE, WEIGHTS_FILE) if not (path / n).is_file()]
    if not missing:
        return
    if not path.is_dir():
        hint = f"{path} does not exist"
    elif (path / RESUME_CHECKPOINT).is_file():
        hint = f"its training did not finish; continue it with `mmlatent fit --resume {path}`"
    else:
        hint = f"is {path} a finished `mmlatent fit` run?"
    raise RunError(f"{path} is not a complete run: {', '.join(missing)} missing; {hint}")


def load_weights(path: Path) -> GenerativeModel:
    """Rebuild a model from a ``model.safetensors`` alone (name, config and specs are in its metadata).

    A truncated or corrupt file is a ``RunError`` naming it, not a safetensors traceback.
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise RunError(
            f"{path}: not a readable safetensors file ({err}); fit the run again"
        ) from err
    try:
        specs = {n: ModalitySpec.from_dict(s) for n, s in json.loads(meta["specs"]).items()}
        model = build_model(meta["model"], specs, json.loads(meta["model_config"]))
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise RunError(f"{path}: metadata lacks the model description ({err})") from err
    try:
        load_model(model, str(path))
    except (SafetensorError, RuntimeError, OSError) as err:
        raise RunError(f"{path}: weights do not match the model they describe ({err})") from err
    return model.eval()


def _repeat_to(x: Tensor, n: int, name: str) -> Tensor:
    if len(x) == n:
        return x
    if len(x) != 1:
        raise ValueError(f"given {name!r} has {len(x)} items; with n={n} give 1 or {n}")
    return x.expand(n, *x.shape[1:]).clone()


def read_modalities(path: Path) -> dict[str, Modality]:
    """The modalities saved in run folder ``path`` (their vocabularies, lengths and grids)."""
    try:
        states = json.loads((path / MODALITIES_FILE).read_text())
    except json.JSONDecodeError as err:
        raise RunError(f"{path / MODALITIES_FILE}: not valid JSON ({err})") from err
    return {name: Modality.from_state(state) for name, state in states.items()}


def run_data(path: Path, config: RunConfig, modalities: Mapping[str, Modality]) -> MultimodalData:
    """The data set of the run in ``path``, rebuilt from its config in the shapes its modalities
    were saved with, even where a default has changed since; a clear error where it cannot be."""
    name = config.data.name
    states = {m: modality.state() for m, modality in modalities.items()}
    data = load_dataset(name, **{**shape_options(name, states), **config.data.options})
    for m, modality in modalities.items():
        if m in data.modalities and data.modalities[m].spec != modality.spec:
            raise RunError(
                f"{path}: modality {m!r} was trained on {modality.spec.shape} but the data set"
                f" now builds {data.modalities[m].spec.shape}; refit the run with this version"
            )
    return data
