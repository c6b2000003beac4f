"""``mmlatent evaluate`` (metrics.json) and ``mmlatent report`` (report.html)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mmlatent.cli.common import flatten


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a run on its test split (writes metrics.json)")
    p.add_argument("run", type=Path)
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("report", help="write report.html (evaluates first if needed)")
    p.add_argument("run", type=Path)
    p.add_argument("--examples", type=int, default=8)
    p.set_defaults(handler=cmd_report)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.workflows import evaluate_run

    metrics = evaluate_run(Run.load(args.run))
    for key, value in flatten(metrics):
        print(f"{key:40s} {value}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.workflows import report_run

    path = report_run(Run.load(args.run), n_examples=args.examples)
    print(f"report written to {path}")
    return 0
