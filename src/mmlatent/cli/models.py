"""``mmlatent models``: the registered models and what each can do."""

from __future__ import annotations

import argparse

from mmlatent.registry import MODELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(handler=cmd_models)


def models_table() -> list[list[str]]:
    """One row per registered model, read from its declared capabilities and config defaults."""
    rows = [["name", "family", "fusion", "latent loss", "capabilities", "paper"]]
    for name in MODELS.names():
        cls = MODELS.get(name)
        can = cls.capabilities
        default = getattr(cls.config_class(), "latent_loss", "-")
        others = [loss for loss in can.latent_losses if loss != default]
        losses = default + (f" (or {', '.join(others)})" if others else "")
        rows.append([name, can.family, can.fusion, losses, can.summary(), can.paper])
    return rows


def cmd_models(args: argparse.Namespace) -> int:
    rows = models_table()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    return 0
