"""mmlatent: learn one latent space for images, text and audio; generate and judge from it.

Each command lives in its own module of this package and adds itself through ``register``; the
parser is assembled from whatever modules are here, so a new command touches one new file.
Choices (models, data sets, samplers) come from the registries.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from mmlatent.cli.common import parse_pairs
from mmlatent.cli.models import models_table

__all__ = ["build_parser", "main", "models_table", "parse_pairs"]

# Commands are listed in `mmlatent --help` in this order; modules not named here follow, sorted.
COMMAND_ORDER = ("demo", "fit", "generate", "evaluate", "models", "data")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Lightning has its own handlers; ours only add mmlatent's messages, without duplicating theirs.
    handler = CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    # A deprecation inside Lightning itself, printed on every fit; nothing a user can act on.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    package_log = logging.getLogger("mmlatent")
    package_log.setLevel(logging.INFO)
    if not package_log.handlers:
        package_log.addHandler(handler)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as err:
        # Bad input of any kind (config, data, run dir): one clear line, no traceback.
        print(f"mmlatent {args.command}: error: {err}", file=sys.stderr)
        return 2


class CurrentStderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a message is logged, not as it was when the handler
    was made: an embedding program (or a test) that swaps stderr keeps getting the messages."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current stderr


def command_modules() -> list[str]:
    """The command modules of this package, in help order."""
    found = [
        info.name
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name != "common"
    ]
    ordered = [name for name in COMMAND_ORDER if name in found]
    return ordered + sorted(set(found) - set(ordered))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmlatent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in command_modules():
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
