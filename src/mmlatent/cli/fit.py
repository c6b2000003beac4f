"""``mmlatent fit``: train a model into a run directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mmlatent.cli.common import parse_pairs
from mmlatent.registry import DATASETS, MODELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="train a model into a run directory")
    p.add_argument("--config", type=Path, help="YAML RunConfig (e.g. a previous run's config.yaml)")
    p.add_argument("--data", choices=DATASETS.names(), help="data set (default: digits)")
    p.add_argument(
        "--data-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="data set option, e.g. path=my/manifest.jsonl",
    )
    p.add_argument("--model", choices=MODELS.names(), help="model (default: mopoe)")
    p.add_argument(
        "--missing",
        action="append",
        default=[],
        metavar="MODALITY=RATE",
        help="drop MODALITY from a RATE fraction of the training rows, at random (data.missing); "
        "repeatable, e.g. audio=0.5",
    )
    p.add_argument("--max-epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config field, e.g. train.lr=3e-4 or model.options.latent_dim=32",
    )
    p.add_argument("--out", type=Path, help="run directory (default: runs/<data>-<model>-<time>)")
    p.set_defaults(handler=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    import yaml

    from mmlatent.config import RunConfig
    from mmlatent.training.fit import fit

    config = RunConfig.from_yaml(args.config) if args.config else RunConfig()
    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.name={args.data}")
    if args.model:
        overrides.append(f"model.name={args.model}")
    if args.max_epochs is not None:
        overrides.append(f"train.max_epochs={args.max_epochs}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    for modality, rate in parse_pairs(args.missing, "--missing").items():
        overrides.append(f"data.missing.{modality}={rate}")
    config = config.with_overrides(overrides)
    options = {
        k: yaml.safe_load(v) for k, v in parse_pairs(args.data_option, "--data-option").items()
    }
    if options:
        config.data.options.update(options)
    out = (
        args.out
        or Path("runs") / f"{config.data.name}-{config.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    run = fit(config, out)
    print(f"run written to {run.path}")
    return 0
