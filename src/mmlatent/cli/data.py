"""``mmlatent data list`` and ``mmlatent data check MANIFEST``."""

from __future__ import annotations

import argparse
from pathlib import Path

from mmlatent.registry import DATASETS


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="data sets: list, check a manifest")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("list", help="list the registered data sets")
    p.set_defaults(handler=cmd_data_list)
    p = data_sub.add_parser("check", help="validate a JSONL/CSV manifest and print its statistics")
    p.add_argument("path", type=Path)
    p.set_defaults(handler=cmd_data_check)


def cmd_data_list(args: argparse.Namespace) -> int:
    for name in DATASETS.names():
        doc = (DATASETS.get(name).__doc__ or "").strip().splitlines()
        print(f"{name:12s} {doc[0] if doc else ''}")
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from mmlatent.data.check import check_manifest

    report = check_manifest(args.path)
    print(report.to_text())
    return 0 if report.ok else 1
