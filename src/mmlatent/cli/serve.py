"""``mmlatent serve``: the web app on a run (generate, sample, explore, rate) on 127.0.0.1."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="a local web app: generate, sample, explore and rate a run")
    p.add_argument("run", type=Path)
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to all)",
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--compare", type=Path, help="a second run to rate against (default: real test data)"
    )
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.serve.app import build_app, launch
    from mmlatent.serve.handlers import ServeState

    run = Run.load(args.run)
    other = Run.load(args.compare) if args.compare else None
    # Outputs live in a private temporary folder that vanishes with the server: the only files
    # the page can fetch.
    with tempfile.TemporaryDirectory(prefix="mmlatent-serve-") as out_dir:
        state = ServeState(run=run, out_dir=Path(out_dir), other=other)
        try:
            app = build_app(state)
        except ImportError as err:  # the web extra is missing: one line, not a traceback
            raise ValueError(str(err)) from err
        print(f"serving {args.run} on http://{args.host}:{args.port} (Ctrl+C stops)")
        launch(app, state, args.host, args.port)
    return 0
