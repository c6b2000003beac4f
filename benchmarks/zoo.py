"""The model zoo at one budget: every registered model, and every latent loss, on one data set.

Each entry is fitted through the same path as ``mmlatent fit``, then scored by the project's
judges (every direction, joint coherence from the prior and from the fitted sampler,
reconstruction), by the second judges (joint coherence from the prior, on the same samples), by
an independent audio judge for audio targets (``independent_judge.py``, hearing ``--indep-rows``
test rows per direction), and by an importance-sampled test NLL. Results go to
``benchmarks/results/zoo-<data>[-<tag>].json`` and a Markdown table beside it.

    python benchmarks/zoo.py --data digits                      # complete data
    python benchmarks/zoo.py --data digits --missing audio=0.5  # half the training rows lack audio
    python benchmarks/zoo.py --data avmnist --only mopoe,mmvae+ # ../shared/data needed
    python benchmarks/zoo.py --data avmnist --tag logmel32      # results apart from other protocols
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from mmlatent.config import RunConfig
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import rows_with
from mmlatent.latent import PRIORS
from mmlatent.models import model_class
from mmlatent.registry import MODELS
from mmlatent.run import Run
from mmlatent.training.fit import fit
from mmlatent.workflows import evaluate_run

sys.path.insert(0, str(Path(__file__).parent))
from avmnist import epochs_trained
from independent_judge import audio_coherence, judge_for

RESULTS = Path(__file__).parent / "results"

# One budget per data set. AV-MNIST follows MultiVae's protocol (10k training images, 2k test, batch 128,
# latent 32, at most 30 epochs), so the figures compare with other libraries'.
BUDGETS: dict[str, list[str]] = {
    "digits": [
        "train.max_epochs=16",
        "eval.n_unconditional=500",
        "eval.audio_roundtrip_limit=100",
    ],
    "avmnist": [
        "data.name=avmnist",
        "data.batch_size=128",
        "train.max_epochs=30",
        "eval.n_unconditional=1000",
        "eval.audio_roundtrip_limit=200",
    ],
}
DATA_OPTIONS: dict[str, dict[str, Any]] = {
    "digits": {},
    "avmnist": {"limit_train": 10000, "limit_test": 2000},
}
UNIMODAL_TARGET = "image"


def entries() -> list[tuple[str, str, dict[str, Any]]]:
    """(label, model, options): every model with its defaults, then every other latent loss and
    prior on MoPoE (the default model), so each is compared with the model held fixed."""
    out = []
    for name in MODELS.names():
        can = model_class(name).capabilities
        options: dict[str, Any] = {"latent_dim": 32}
        if not can.multimodal:
            options["modality"] = UNIMODAL_TARGET
        out.append((name, name, options))
    for loss in model_class("mopoe").capabilities.latent_losses:
        if loss != "kl":
            out.append((f"mopoe/{loss}", "mopoe", {"latent_dim": 32, "latent_loss": loss}))
    for prior in PRIORS:
        if prior != "standard":
            out.append((f"mopoe/prior-{prior}", "mopoe", {"latent_dim": 32, "prior": prior}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(BUDGETS), default="digits")
    parser.add_argument("--only", help="comma-separated entry labels (default: all)")
    parser.add_argument("--missing", action="append", default=[], metavar="MOD=RATE")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs", type=Path, default=Path("runs/zoo"))
    parser.add_argument("--nll-k", type=int, default=50)
    parser.add_argument("--nll-rows", type=int, default=500)
    parser.add_argument(
        "--indep-rows",
        type=int,
        default=2000,
        help="test rows (at most) the independent audio judge hears per direction; files "
        "written before this option heard 500 (standard error about 0.013 near 0.90; 0.007 at "
        "2,000)",
    )
    parser.add_argument("--fresh", action="store_true", help="refit entries that have a run")
    parser.add_argument(
        "--tag",
        default="",
        help="a name for this protocol: results and runs kept apart from others",
    )
    args = parser.parse_args()

    missing = dict(_pair(p) for p in args.missing)
    missing_tag = "-".join(f"{m}{round(r * 100)}" for m, r in missing.items())
    out_tag = "-".join(x for x in (args.tag, f"missing-{missing_tag}" if missing_tag else "") if x)
    run_tag = "-".join(x for x in (args.tag, missing_tag) if x)
    out_json = RESULTS / f"zoo-{args.data}{'-' + out_tag if out_tag else ''}.json"
    results = json.loads(out_json.read_text()) if out_json.is_file() else {"entries": {}}
    data_config = base_config(args).data  # --set data.options.* reach the data, not only the config
    data = load_dataset(data_config.name, **data_config.options)
    judge = judge_for(args.data)
    chosen = entries()
    if args.only:  # in the order given, so the entries that matter most run first
        by_label = {e[0]: e for e in chosen}
        unknown = [x for x in args.only.split(",") if x not in by_label]
        if unknown:
            raise SystemExit(f"--only {unknown[0]!r}: not an entry; entries: {', '.join(by_label)}")
        chosen = [by_label[x] for x in args.only.split(",")]
    for label, model, options in chosen:
        if missing and not model_class(model).capabilities.trains_on_incomplete_rows:
            results["entries"][label] = {"skipped": "trains on complete rows only"}
            continue
        run_dir = (
            args.runs / f"{args.data}{'-' + run_tag if run_tag else ''}" / label.replace("/", "-")
        )
        print(f"== {label}", flush=True)
        results["entries"][label] = run_entry(run_dir, args, data, judge, model, options, missing)
        results |= {
            "data": args.data,
            "budget": BUDGETS[args.data] + args.overrides,
            "missing": missing,
            "machine": platform.platform(),
            "torch_threads": torch.get_num_threads(),
            "independent_audio_judge_accuracy": judge.held_out_accuracy,
            "independent_audio_judge_rows": args.indep_rows,
        }
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(results, indent=2, default=float))
        out_json.with_suffix(".md").write_text(markdown(results))
    print(out_json.with_suffix(".md").read_text())


def base_config(args: argparse.Namespace, *overrides: str) -> RunConfig:
    """The budget, then ``overrides``, then the user's ``--set``s (which win), over the data set's
    options (which they may override too)."""
    config = RunConfig().with_overrides(
        [*BUDGETS[args.data], *overrides, "train.progress_bar=false", *args.overrides]
    )
    config.data.options = DATA_OPTIONS[args.data] | config.data.options
    return config


def run_entry(
    run_dir: Path,
    args: argparse.Namespace,
    data: MultimodalData,
    judge: Any,
    model: str,
    options: dict[str, Any],
    missing: dict[str, float],
) -> dict[str, Any]:
    config = base_config(args, f"model.name={model}")
    config.model.options.update(options)
    config.data.missing = dict(missing)
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    started = time.perf_counter()
    run = Run.load(run_dir) if (run_dir / "model.safetensors").is_file() else None
    if run is None:
        if run_dir.exists():
            shutil.rmtree(run_dir)  # an interrupted fit: start it again
        run = fit(config, run_dir, data=data)
    fit_seconds = time.perf_counter() - started
    epochs = epochs_trained(run_dir / "logs" / "metrics.csv")
    metrics = evaluate_run(run, data=data)
    record: dict[str, Any] = {
        "model": model,
        "options": options,
        "parameters": sum(p.numel() for p in run.model.parameters()),
        "epochs": epochs,
        "seconds_per_epoch": fit_seconds / max(epochs, 1),
        "coherence": metrics.get("coherence", {}),
        "joint_coherence": metrics.get("joint_coherence_by_sampler")
        or {metrics.get("sampler"): metrics.get("joint_coherence")},
        "reconstruction": metrics.get("reconstruction", {}),
        "judge_accuracy": metrics.get("judge_accuracy", {}),
    }
    prior = (metrics.get("samplers") or {}).get("prior", {})
    if prior.get("second_judge_joint_coherence") is not None:
        record["second_judge_joint_prior"] = prior["second_judge_joint_coherence"]
    if "audio" in run.model.modalities and len(run.model.modalities) > 1:
        record["coherence_independent_audio_judge"] = audio_coherence(
            run, data, judge, limit=args.indep_rows
        )
    record["test_nll"] = test_nll(run, data, k=args.nll_k, rows=args.nll_rows)
    return record


@torch.no_grad()
def test_nll(run: Run, data: MultimodalData, *, k: int, rows: int) -> dict[str, float] | None:
    """Mean importance-sampled -log p(x) over complete test rows, with its standard error."""
    estimate = getattr(run.model, "importance_log_likelihood", None)
    if estimate is None:
        return None
    idx = rows_with(data, "test", run.model.modalities)[:rows]
    run.model.eval()
    torch.manual_seed(0)
    values = []
    for chunk in idx.split(100):
        batch = data.batch(chunk)
        own = {m: batch["data"][m] for m in run.model.modalities}
        mask = {m: batch["mask"][m] for m in run.model.modalities}
        values.append(-estimate(own, mask, k=k))
    nll = torch.cat(values)
    return {
        "nll": float(nll.mean()),
        "standard_error": float(nll.std() / math.sqrt(len(nll))),
        "k": k,
        "rows": len(nll),
    }


def markdown(results: dict[str, Any]) -> str:
    """One row per entry: every direction, joint coherence (prior, fitted), recon, NLL, cost."""
    done = {k: v for k, v in results["entries"].items() if "coherence" in v}
    directions = sorted({d for v in done.values() for d in v["coherence"]}, key=_direction_order)
    independent = sorted(
        {d for v in done.values() for d in v.get("coherence_independent_audio_judge", {})}
    )
    recon = sorted(
        {f"{m}:{k}" for v in done.values() for m, r in v["reconstruction"].items() for k in r}
    )
    second = any("second_judge_joint_prior" in v for v in done.values())
    head = ["entry", *directions, *(f"{d} (indep.)" for d in independent), "joint prior",
            *(["joint prior (2nd judges)"] if second else []),
            "joint fitted", *recon, "test NLL", "s/epoch", "epochs", "params"]  # fmt: skip
    lines = [
        f"Zoo on `{results.get('data')}` (missing: {results.get('missing') or 'none'}); "
        f"budget: {', '.join(results.get('budget', []))}. Independent audio judge's accuracy on "
        f"real held-out clips: {results.get('independent_audio_judge_accuracy')}, hearing up to "
        f"{results.get('independent_audio_judge_rows', 500)} test rows per direction.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for label, v in done.items():
        joint = v["joint_coherence"]
        fitted = [x for s, x in joint.items() if s != "prior"]
        nll = v.get("test_nll")
        cells = [
            label,
            *(_fmt(v["coherence"].get(d)) for d in directions),
            *(_fmt(v.get("coherence_independent_audio_judge", {}).get(d)) for d in independent),
            _fmt(joint.get("prior")),
            *([_fmt(v.get("second_judge_joint_prior"))] if second else []),
            _fmt(fitted[0] if fitted else None),
            *(
                _fmt(v["reconstruction"].get(r.split(":")[0], {}).get(r.split(":")[1]))
                for r in recon
            ),
            f"{nll['nll']:.1f} ± {nll['standard_error']:.1f}" if nll else "n/a",
            f"{v['seconds_per_epoch']:.1f}",
            str(v["epochs"]),
            f"{v['parameters'] / 1e6:.2f}M",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    skipped = {k: v["skipped"] for k, v in results["entries"].items() if "skipped" in v}
    lines += ["", *(f"- `{k}` skipped: {why}" for k, why in skipped.items())]
    return "\n".join(lines) + "\n"


def _direction_order(key: str) -> tuple[int, str]:
    sources = key.split("->")[0]
    return (sources.count("+"), key)


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _pair(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"--missing {text!r}: expected MOD=RATE, e.g. audio=0.5")
    return name, float(value)


if __name__ == "__main__":
    main()
