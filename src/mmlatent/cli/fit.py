"""``mmlatent fit``: train a model into a run directory; ``--resume RUN`` continues a stopped one.

SIGTERM (a scheduler's pre-emption) or SIGINT (Ctrl+C) saves a resumable checkpoint after the
step in progress, prints how to resume, and exits with 128 + the signal's number, so that
``mmlatent fit && mmlatent evaluate`` never goes on with a run that did not finish.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmlatent.config import RunConfig

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
    p.add_argument(
        "--resume",
        type=Path,
        metavar="RUN",
        help="continue the stopped run RUN from its last checkpoint (no other option applies)",
    )
    p.set_defaults(handler=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from mmlatent.training.callbacks import TrainingInterrupted
    from mmlatent.training.fit import fit, resume

    try:
        if args.resume is not None:
            _refuse_options_beside_resume(args)
            run = resume(args.resume)
        else:
            config, out = _config_and_out(args)
            run = fit(config, out)
    except TrainingInterrupted as stop:
        run_dir = stop.checkpoint.parent.parent
        print(
            f"mmlatent fit: {stop.signal_name} received; stopped at epoch {stop.epoch}, step "
            f"{stop.step}. A resumable checkpoint is in {stop.checkpoint}.\n"
            f"Continue with: mmlatent fit --resume {run_dir}",
            file=sys.stderr,
        )
        return 128 + stop.signal_number
    print(f"run written to {run.path}")
    return 0


def _refuse_options_beside_resume(args: argparse.Namespace) -> None:
    """A resumed run keeps its saved config: any option that would change it is an error."""
    given = [
        flag
        for flag, value in (
            ("--config", args.config),
            ("--data", args.data),
            ("--data-option", args.data_option),
            ("--model", args.model),
            ("--missing", args.missing),
            ("--max-epochs", args.max_epochs),
            ("--seed", args.seed),
            ("--set", args.overrides),
            ("--out", args.out),
        )
        if value not in (None, [])
    ]
    if given:
        raise ValueError(f"--resume continues a run with its saved config; drop {', '.join(given)}")


def _config_and_out(args: argparse.Namespace) -> tuple[RunConfig, Path]:
    from mmlatent.config import RunConfig, parse_value

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
    pairs = parse_pairs(args.data_option, "--data-option").items()
    options = {k: parse_value(v, f"--data-option {k}") for k, v in pairs}
    if options:
        config.data.options.update(options)
    out = (
        args.out
        or Path("runs") / f"{config.data.name}-{config.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    return config, out
