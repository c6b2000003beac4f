"""``mmlatent``: demo, fit, generate, sample, evaluate, report, models, data list/check.

Choices (models, data sets, samplers) come from the registries, so a new entry appears here
without touching this file.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmlatent.registry import DATASETS, MODELS, SAMPLERS


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Lightning has its own handlers; ours only add mmlatent's messages, without duplicating theirs.
    handler = logging.StreamHandler()
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmlatent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "demo", help="fit -> sample -> evaluate -> report on the built-in digits data"
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(handler=cmd_demo)

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

    p = sub.add_parser("generate", help="generate target modalities from given ones")
    p.add_argument("run", type=Path)
    p.add_argument(
        "--given",
        action="append",
        default=[],
        metavar="MODALITY=VALUE",
        help='text="a handwritten seven", image=path.png, audio=path.wav; repeatable',
    )
    p.add_argument("--targets", help="comma-separated modalities (default: all not given)")
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("generated"))
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("sample", help="unconditional samples of all modalities together")
    p.add_argument("run", type=Path)
    p.add_argument("--n", type=int, default=64)
    p.add_argument(
        "--sampler", choices=SAMPLERS.names(), help="latent sampler (default: the run's)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("samples"))
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("evaluate", help="score a run on its test split (writes metrics.json)")
    p.add_argument("run", type=Path)
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("report", help="write report.html (evaluates first if needed)")
    p.add_argument("run", type=Path)
    p.add_argument("--examples", type=int, default=8)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(handler=cmd_models)

    data = sub.add_parser("data", help="data sets: list, check a manifest")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("list", help="list the registered data sets")
    p.set_defaults(handler=cmd_data_list)
    p = data_sub.add_parser("check", help="validate a JSONL/CSV manifest and print its statistics")
    p.add_argument("path", type=Path)
    p.set_defaults(handler=cmd_data_check)
    return parser


def parse_pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {item!r} must look like NAME=VALUE")
        out[key.strip()] = value
    return out


def cmd_demo(args: argparse.Namespace) -> int:
    from mmlatent.workflows import demo

    started = time.perf_counter()
    report = demo(args.out, args.overrides)
    print(f"demo finished in {time.perf_counter() - started:.0f} s; open the report: {report}")
    return 0


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


def read_given(run: Any, pairs: dict[str, str]) -> dict[str, list[Any]]:
    """Text values are the text itself; other modalities' values are file paths."""
    given = {}
    for name, value in pairs.items():
        if name not in run.modalities:
            raise ValueError(
                f"--given {name}: unknown modality; this run has {', '.join(run.modalities)}"
            )
        modality = run.modalities[name]
        given[name] = [value if modality.kind == "text" else modality.load(value)]
    return given


def cmd_generate(args: argparse.Namespace) -> int:
    from mmlatent.run import Run

    run = Run.load(args.run)
    given = read_given(run, parse_pairs(args.given, "--given"))
    if not given:
        raise ValueError("give at least one --given MODALITY=VALUE (or use `mmlatent sample`)")
    targets = (
        args.targets.split(",") if args.targets else [m for m in run.modalities if m not in given]
    )
    outputs = run.generate(given=given, targets=targets, n=args.n, seed=args.seed)
    written = run.write_outputs(outputs, args.out, prefix="generated")
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.workflows import sample_run

    run = Run.load(args.run)
    written = sample_run(
        run,
        n=args.n,
        out_dir=args.out,
        sampler=args.sampler or run.config.eval.sampler,
        seed=args.seed,
    )
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.workflows import evaluate_run

    metrics = evaluate_run(Run.load(args.run))
    for key, value in _flatten(metrics):
        print(f"{key:40s} {value}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from mmlatent.run import Run
    from mmlatent.workflows import report_run

    path = report_run(Run.load(args.run), n_examples=args.examples)
    print(f"report written to {path}")
    return 0


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


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            rows += _flatten(v, f"{prefix}{k}.")
        else:
            rows.append((f"{prefix}{k}", f"{v:.4f}" if isinstance(v, float) else v))
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
