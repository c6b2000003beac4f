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
    a compiler error falls back to ``fn`` for good, with one warning."""

    def __init__(
        self, fn: Callable[..., Any], *, enabled: bool, backend: str | Callable = "inductor"
    ) -> None:
        self.eager = fn
        # Static shapes: one graph per batch size (a full batch and an epoch's last one), each
        # specialised; dynamic shapes trip over random draws of a symbolic size.
        self.compiled: Callable[..., Any] | None = (
            torch.compile(fn, backend=backend, dynamic=False) if enabled else None
        )

    @property
    def compiling(self) -> bool:
        """Whether calls still go through the compiler (False once it has failed)."""
        return self.compiled is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.compiled is None:
            return self.eager(*args, **kwargs)
        from torch._dynamo.exc import TorchDynamoException  # 2 s to import: only when compiling

        try:
            # Traced rather than left as a graph break, a GRU becomes a few fused kernels per
            # step instead of dozens of operators (the text decoder's teacher-forced pass).
            with torch._dynamo.config.patch(allow_rnn=True):
                return self.compiled(*args, **kwargs)
        except TorchDynamoException as err:  # the compiler's failure, not the model's
            warnings.warn(
                f"train.compile: torch.compile failed ({describe(err)}); "
                "training continues without compiling",
                RuntimeWarning,
                stacklevel=2,
            )
            self.compiled = None
            return self.eager(*args, **kwargs)
