"""Helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def parse_pairs(items: Sequence[str], what: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a malformed item names itself."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {item!r} must look like NAME=VALUE")
        out[key.strip()] = value
    return out


def flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested metrics as ``("a.b.c", value)`` rows, floats to four places."""
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            rows += flatten(v, f"{prefix}{k}.")
        else:
            rows.append((f"{prefix}{k}", f"{v:.4f}" if isinstance(v, float) else v))
    return rows
