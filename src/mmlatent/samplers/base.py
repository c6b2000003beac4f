"""Latent samplers: densities fitted to a trained model's codes, used for unconditional generation.

A sampler knows nothing of models (``fit`` takes a tensor of codes); any model's
``generate(latent=sampler.sample(n))`` can use any sampler. Ex-post density estimation in latent
space: Ghosh et al., "From Variational to Deterministic Autoencoders", ICLR 2020.

A fitted sampler is saved as one safetensors file: its tensors, and in the header its registered
name, options (JSON) and a few facts about the fit (``info``). Each sampler declares which of its
attributes are state (``state_attributes``: tensors, or ``nn.Module``s whose ``state_dict`` is
stored under ``<attribute>.<key>``); saving and loading are written once, here. Loading parses
JSON and raw tensors only: no pickled code is ever executed.
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmlatent.config import build_typed
from mmlatent.latent.temperature import check_temperature

SAMPLER_FORMAT_VERSION = "1"
"""Bump when a sampler's saved tensors change meaning, so stale files are refused, not misread."""


class SamplerFileError(ValueError):
    """A saved sampler file is not a safetensors file written by mmlatent, or was altered."""


@dataclasses.dataclass(kw_only=True)
class NoOptions:
    """For samplers that take no options."""


class LatentSampler(ABC):
    registry_name: ClassVar[str]
    options_class: ClassVar[type] = NoOptions
    """Keyword-only dataclass of the sampler's options (plain values, saved as JSON)."""
    state_attributes: ClassVar[tuple[str, ...]] = ()
    """Attributes that hold the fitted state: tensors or ``nn.Module``s."""
    fitted_to_codes: ClassVar[bool] = True
    """False for a sampler that uses only the codes' width (the prior): callers then need no
    encoder and may fit it to a single placeholder code."""

    def __init__(self, **options: Any) -> None:
        name = getattr(type(self), "registry_name", type(self).__name__)
        # a ConfigError (a ValueError) names the option: "gmm option max_components must be ..."
        self.options = build_typed(self.options_class, options, prefix=f"{name} option ")
        self.dim = 0
        self.info: dict[str, Any] = {}
        """Facts about the fit worth reporting (chosen components, final loss, ...); JSON-safe."""

    # --- fitting and drawing ---------------------------------------------------------------------
    def bind_model(self, model: Any) -> None:
        """Told which model's codes it draws; only a sampler that draws from the model itself
        (the prior) uses it."""
        return None

    def fit(self, codes: Tensor, *, generator: torch.Generator | None = None) -> LatentSampler:
        """Fit to codes (N, D), seeded by ``generator`` (initialisation, batches, EM); returns self."""
        if codes.ndim != 2 or len(codes) == 0:
            raise ValueError(
                f"codes must be a non-empty (N, D) tensor, got shape {tuple(codes.shape)}"
            )
        if not torch.isfinite(codes).all():
            raise ValueError("codes contain NaN or inf; the model that produced them diverged")
        self.dim = codes.shape[1]
        self._fit(codes.detach().to("cpu", torch.float64), generator or torch.Generator())
        return self

    @abstractmethod
    def _fit(self, codes: Tensor, generator: torch.Generator) -> None: ...

    def sample(
        self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0
    ) -> Tensor:
        """n codes (n, D), float32 on the CPU; the same ``generator`` state gives the same codes.

        ``temperature`` scales the sampler's own noise toward its centre, as a model's draws are
        tempered (:mod:`mmlatent.latent.temperature`): 1 samples the fitted density, lower gives
        more typical codes and less variety; each sampler says what its centre is.
        """
        return self._sample(n, generator, check_temperature(temperature))

    @abstractmethod
    def _sample(self, n: int, generator: torch.Generator | None, temperature: float) -> Tensor:
        """``sample`` with a checked temperature."""

    def _build(self) -> None:
        """Create the (empty) modules of ``state_attributes`` for ``self.dim``, before loading."""
        return None

    def _check_state(self) -> None:
        """Raise ``ValueError`` if loaded plain tensors do not fit together (modules check themselves)."""
        return None

    # --- saving and loading ----------------------------------------------------------------------
    def state_tensors(self) -> dict[str, Tensor]:
        """The fitted state as flat, named CPU tensors."""
        out: dict[str, Tensor] = {}
        for attribute in self.state_attributes:
            value = getattr(self, attribute)
            if isinstance(value, nn.Module):
                out |= {f"{attribute}.{k}": v for k, v in value.state_dict().items()}
            else:
                out[attribute] = value
        return {k: v.detach().cpu().contiguous() for k, v in out.items()}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        self._build()
        for attribute in self.state_attributes:
            current = getattr(self, attribute, None)
            if isinstance(current, nn.Module):
                prefix = f"{attribute}."
                own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
                try:
                    current.load_state_dict(own)
                except RuntimeError as err:
                    raise ValueError(f"{attribute}: {err}") from None
            elif attribute in tensors:
                setattr(self, attribute, tensors[attribute])
            else:
                raise ValueError(f"tensor {attribute!r} is missing")
        self._check_state()

    def save(self, path: str | Path) -> Path:
        """Write the fitted sampler as ``path`` (safetensors; name, options, info in the header)."""
        from safetensors.torch import save_file

        if not self.dim:
            raise ValueError("fit the sampler before saving it")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {
            "format_version": SAMPLER_FORMAT_VERSION,
            "sampler": self.registry_name,
            "dim": str(self.dim),
            "options": json.dumps(dataclasses.asdict(self.options)),
            "info": json.dumps(self.info, default=float),
        }
        tmp = path.with_name(f".{path.name}.tmp")  # a reader never sees half a file
        save_file(self.state_tensors(), str(tmp), metadata=metadata)
        tmp.replace(path)
        return path

    @staticmethod
    def load(path: str | Path) -> LatentSampler:
        """A sampler saved by :meth:`save`; anything else is refused with :class:`SamplerFileError`."""
        from mmlatent.registry import SAMPLERS

        path = Path(path)
        metadata, tensors = _read_safetensors(path)
        if metadata.get("format_version") != SAMPLER_FORMAT_VERSION:
            raise SamplerFileError(
                f"{path}: sampler format {metadata.get('format_version')!r}, expected "
                f"{SAMPLER_FORMAT_VERSION!r}; refit it with `mmlatent fit-sampler`"
            )
        try:
            cls = SAMPLERS.get(metadata["sampler"])
            sampler = cls(**json.loads(metadata["options"]))
            sampler.dim = int(metadata["dim"])
            sampler.info = json.loads(metadata.get("info", "{}"))
            sampler.load_state_tensors(tensors)
        except (KeyError, ValueError, TypeError) as err:
            raise SamplerFileError(
                f"{path}: not a valid saved sampler ({err}); if an older mmlatent wrote it, "
                "refit it with `mmlatent fit-sampler`"
            ) from None
        return sampler


def _read_safetensors(path: Path) -> tuple[dict[str, str], dict[str, Tensor]]:
    """Header metadata and tensors of a safetensors file; a pickle (or anything else) is refused."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved sampler there")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError) as err:
        raise SamplerFileError(
            f"{path}: not a safetensors file ({err}); mmlatent loads samplers only from "
            "safetensors and never unpickles, so refit it with `mmlatent fit-sampler`"
        ) from None
    return metadata, tensors
