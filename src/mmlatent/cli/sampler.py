"""``mmlatent fit-sampler``: fit a latent sampler to a run's training codes, once, and save it in
the run (``samplers/<name>.safetensors``); ``sample``, ``evaluate`` and ``report`` then load it."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from mmlatent.cli.common import parse_pairs
from mmlatent.registry import SAMPLERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-sampler", help="fit a latent sampler to a run's codes and save it in the run"
    )
    p.add_argument("run", type=Path)
    p.add_argument("--sampler", required=True, choices=SAMPLERS.names())
    p.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a sampler option (value read as YAML), e.g. max_components=12 or steps=3000",
    )
    p.set_defaults(handler=cmd_fit_sampler)


def cmd_fit_sampler(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.run_samplers import fit_and_save_sampler, sampler_path
    from mmlatent.samplers import build_sampler
    from mmlatent.workflows import load_run_data

    options = {k: yaml.safe_load(v) for k, v in parse_pairs(args.options, "--set").items()}
    build_sampler(args.sampler, **options)  # a bad option fails before any data is loaded
    run = Run.load(args.run)
    fit_and_save_sampler(run, load_run_data(run), args.sampler, options)
    print(f"saved {args.sampler} sampler to {sampler_path(run, args.sampler)}")
    return 0
