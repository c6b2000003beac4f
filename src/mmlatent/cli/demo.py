"""``mmlatent demo``: fit -> sample -> evaluate -> report on the built-in digits data."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="fit -> sample -> evaluate -> report on the built-in digits data"
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from mmlatent.workflows import demo

    started = time.perf_counter()
    report = demo(args.out, args.overrides)
    print(f"demo finished in {time.perf_counter() - started:.0f} s; open the report: {report}")
    return 0
