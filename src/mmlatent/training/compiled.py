"""``train.compile``: a function run through ``torch.compile``, or as it is when compiling fails.

Compilation is lazy (it happens on the first call), so failing is only known there: a missing C++
compiler on a CPU box, an operator the compiler lacks, a backend that is not installed. A run must
not die for an optional speed-up: the first failure is reported once, in a warning that names the
error, and every call from then on runs the plain function.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch


def describe(err: Exception) -> str:
    """The error behind a compiler failure, on one line (a backend's own error is wrapped)."""
    cause = getattr(err, "inner_exception", None) or err
    text = str(cause).strip()
    return f"{type(cause).__name__}: {text.splitlines()[0] if text else ''}"


class CompiledOrEager:
    """``fn`` through ``torch.compile(fn, backend=backend)`` when ``enabled``, else ``fn`` itself;
    a compiler error falls back to ``fn`` for good, with one warning.

    The compiled function is made on first use and not pickled (it holds the compiler's state):
    a process that receives this object, as a spawned DDP worker does, compiles its own."""

    def __init__(
        self, fn: Callable[..., Any], *, enabled: bool, backend: str | Callable = "inductor"
    ) -> None:
        self.eager = fn
        self.backend = backend
        self.compiling = enabled
        """Whether calls go through the compiler (False when not asked, or once it failed)."""
        self._compiled: Callable[..., Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_compiled": None}

    def _compiled_fn(self) -> Callable[..., Any]:
        if self._compiled is None:
            # Static shapes: one graph per batch size (a full batch and an epoch's last one),
            # each specialised; dynamic shapes trip over random draws of a symbolic size.
            self._compiled = torch.compile(self.eager, backend=self.backend, dynamic=False)
        return self._compiled

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.compiling:
            return self.eager(*args, **kwargs)
        from torch._dynamo.exc import TorchDynamoException  # 2 s to import: only when compiling

        try:
            # Traced rather than left as a graph break, a GRU becomes a few fused kernels per
            # step instead of dozens of operators (the text decoder's teacher-forced pass).
            with torch._dynamo.config.patch(allow_rnn=True):
                return self._compiled_fn()(*args, **kwargs)
        except TorchDynamoException as err:  # the compiler's failure, not the model's
            warnings.warn(
                f"train.compile: torch.compile failed ({describe(err)}); "
                "training continues without compiling",
                RuntimeWarning,
                stacklevel=2,
            )
            self.compiling = False
            return self.eager(*args, **kwargs)
