"""One registry per kind of component, filled by decorators.

Adding a model, modality, data set, sampler or metric touches one file: the class registers itself
under a name, configs refer to that name, and loading looks the class up by the saved name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> classes (or factories) of one kind.

    ``package`` is imported on first lookup so that every module in it has had the chance to
    register itself, without the registry importing heavy modules at start-up.
    """

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            importlib.import_module(self.package)

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


MODELS: Registry = Registry("model", "mmlatent.models")
MODALITIES: Registry = Registry("modality", "mmlatent.data.modalities")
DATASETS: Registry = Registry("data set", "mmlatent.data.datasets")
SAMPLERS: Registry = Registry("sampler", "mmlatent.samplers")

register_model = MODELS.register
register_modality = MODALITIES.register
register_dataset = DATASETS.register
register_sampler = SAMPLERS.register
