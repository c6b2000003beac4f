"""One registry per kind of component, filled by decorators.

Adding a model, modality, data set, sampler or metric touches one file: the class registers itself
under a name, configs refer to that name, and loading looks the class up by the saved name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> classes (or factories) of one kind.

    ``package`` and every module inside it are imported on first lookup, so each entry has had
    the chance to register itself (no hand-kept import list), without the registry importing
    heavy modules at start-up.
    """

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: file ``obj`` under ``name``; a class also learns it as ``registry_name``,
        so the name is written once."""

        def decorator(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            if isinstance(obj, type):
                obj.registry_name = name  # type: ignore[attr-defined]
            return obj

        return decorator

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            import_submodules(self.package)

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(sorted(self._entries)) or "none"
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {choices}") from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def import_submodules(package: str) -> None:
    """Import ``package`` and, if it is a package, every module below it."""
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{package}."):
        importlib.import_module(info.name)


MODELS: Registry = Registry("model", "mmlatent.models")
MODALITIES: Registry = Registry("modality", "mmlatent.data.modalities")
DATASETS: Registry = Registry("data set", "mmlatent.data.datasets")
SAMPLERS: Registry = Registry("sampler", "mmlatent.samplers")
LATENT_LOSSES: Registry = Registry("latent loss", "mmlatent.latent.losses")
TRAINING_SYSTEMS: Registry = Registry("training system", "mmlatent.training.systems")

register_model = MODELS.register
register_modality = MODALITIES.register
register_dataset = DATASETS.register
register_sampler = SAMPLERS.register
register_latent_loss = LATENT_LOSSES.register
register_training_system = TRAINING_SYSTEMS.register
