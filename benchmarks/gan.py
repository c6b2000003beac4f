"""GANs against the VAEs' samples, several seeds: FID/KID in judge features, coherence, cost.

Entries (each fitted through the same path as ``mmlatent fit``, then scored by ``mmlatent
evaluate``'s code with the project's judges):

- ``gan``: the unconditional image GAN; FID, KID, precision/recall and mode coverage of 1,000
  samples against the test images;
- ``cgan text->image``, ``cgan sentence->image`` (frozen MiniLM features of the caption),
  ``cgan audio->image``, ``cgan text->audio``: coherence of the direction, and the FID of its
  samples (generated from the test rows' conditions) against the real test targets;
- ``mopoe``: the default VAE at the zoo's budget, with every latent sampler fitted
  (``mmlatent fit-sampler``); FID per sampler from the evaluation's sampler table.

Runs land in ``runs/gan/<data>/<entry>-s<seed>`` and are reused when finished; results go to
``benchmarks/results/gan-<data>.json`` and a Markdown table of means ± standard deviations.

    python benchmarks/gan.py --data digits --seeds 0 1 2
    python benchmarks/gan.py --data digits --only gan,cgan-text-image --seeds 0
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from mmlatent.cli import main as cli
from mmlatent.config import RunConfig
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import rows_with
from mmlatent.evaluation.fidelity import JudgeFidelity
from mmlatent.evaluation.judges import train_judges
from mmlatent.evaluation.runtime import inference
from mmlatent.run import Run
from mmlatent.training.fit import fit
from mmlatent.workflows import evaluate_run

sys.path.insert(0, str(Path(__file__).parent))
from avmnist import epochs_trained
from zoo import DATA_OPTIONS  # the same rows as the zoo, so the figures compare

RESULTS = Path(__file__).parent / "results"
GAN_EPOCHS = {"digits": 200, "avmnist": 300}
BUDGETS: dict[str, list[str]] = {
    "digits": ["eval.n_unconditional=1000", "eval.audio_roundtrip_limit=100"],
    "avmnist": [
        "data.name=avmnist",
        "data.batch_size=128",
        "eval.n_unconditional=1000",
        "eval.audio_roundtrip_limit=200",
    ],
}
VAE_EPOCHS = {"digits": 16, "avmnist": 30}  # the zoo's budgets
NEURAL_SAMPLERS = ("latent-gan", "latent-diffusion")
CONDITIONAL = {
    "cgan-text-image": ("text", "image", {}),
    "cgan-sentence-image": ("sentence", "image", {"sentence_features": True}),
    "cgan-audio-image": ("audio", "image", {}),
    "cgan-text-audio": ("text", "audio", {}),
}


def entries() -> dict[str, dict[str, Any]]:
    """label -> model, options, extra data options."""
    out: dict[str, dict[str, Any]] = {
        "gan": {"model": "gan", "options": {"modality": "image"}, "data": {}}
    }
    for label, (condition, target, data) in CONDITIONAL.items():
        options = {"condition": condition, "modality": target}
        out[label] = {"model": "cgan", "options": options, "data": data}
    out["mopoe"] = {"model": "mopoe", "options": {"latent_dim": 32}, "data": {}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(BUDGETS), default="digits")
    parser.add_argument("--only", help="comma-separated entry labels (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, help="GAN epochs (default: per data set)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--runs", type=Path, default=Path("runs/gan"))
    parser.add_argument("--fresh", action="store_true", help="refit entries that have a run")
    parser.add_argument("--tag", help="suffix of the results file, for a variant's own table")
    args = parser.parse_args()

    out_json = RESULTS / f"gan-{args.data}{'-' + args.tag if args.tag else ''}.json"
    chosen = entries()
    labels = args.only.split(",") if args.only else list(chosen)
    unknown = [x for x in labels if x not in chosen]
    if unknown:
        raise SystemExit(f"--only {unknown[0]!r}: not an entry; entries: {', '.join(chosen)}")
    cache: dict[str, MultimodalData] = {}
    for label in labels:
        entry = chosen[label]
        options = {**DATA_OPTIONS[args.data], **entry["data"]}
        key = json.dumps(options, sort_keys=True)
        if key not in cache:
            cache[key] = load_dataset(args.data, **options)
        for seed in args.seeds:
            print(f"== {label} seed {seed}", flush=True)
            run_dir = args.runs / args.data / f"{label}-s{seed}"
            seed_record = run_entry(run_dir, args, cache[key], entry, seed)
            # read again just before writing: several processes may run other entries
            results = json.loads(out_json.read_text()) if out_json.is_file() else {"entries": {}}
            record = results["entries"].setdefault(label, {"seeds": {}})
            record["seeds"][str(seed)] = seed_record
            record["summary"] = summarise(record["seeds"])
            results |= {
                "data": args.data,
                "gan_epochs": args.epochs or GAN_EPOCHS[args.data],
                "vae_epochs": VAE_EPOCHS[args.data],
                "budget": BUDGETS[args.data] + args.overrides,
                "machine": platform.platform(),
                "torch_threads": torch.get_num_threads(),
            }
            out_json.parent.mkdir(parents=True, exist_ok=True)
            out_json.write_text(json.dumps(results, indent=2, default=float))
            out_json.with_suffix(".md").write_text(markdown(results))
    print(out_json.with_suffix(".md").read_text())


def run_entry(
    run_dir: Path, args: argparse.Namespace, data: MultimodalData, entry: dict, seed: int
) -> dict[str, Any]:
    gan = entry["model"] != "mopoe"
    epochs = (args.epochs or GAN_EPOCHS[args.data]) if gan else VAE_EPOCHS[args.data]
    overrides = [
        *BUDGETS[args.data],
        f"model.name={entry['model']}",
        f"train.max_epochs={epochs}",
        "train.progress_bar=false",
        f"seed={seed}",
    ]
    config = RunConfig().with_overrides(overrides + args.overrides)
    config.model.options.update(entry["options"])
    config.data.options.update({**DATA_OPTIONS[args.data], **entry["data"]})
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    started = time.perf_counter()
    run = Run.load(run_dir) if (run_dir / "model.safetensors").is_file() else None
    if run is None:
        if run_dir.exists():
            shutil.rmtree(run_dir)  # an interrupted fit: start it again
        run = fit(config, run_dir, data=data)
        (run_dir / "fit_seconds.txt").write_text(f"{time.perf_counter() - started}\n")
    fit_seconds = float((run_dir / "fit_seconds.txt").read_text())
    trained = epochs_trained(run_dir / "logs" / "metrics.csv")
    if not gan:
        for sampler in NEURAL_SAMPLERS:
            if cli(["fit-sampler", str(run_dir), "--sampler", sampler]) != 0:
                raise SystemExit(f"fit-sampler {sampler} failed on {run_dir}")
    metrics = evaluate_run(run, data=data)
    record: dict[str, Any] = {
        "epochs": trained,
        "seconds_per_epoch": fit_seconds / max(trained, 1),
        "parameters": sum(p.numel() for p in run.model.parameters() if p.requires_grad),
        "coherence": metrics.get("coherence", {}),
        "judge_accuracy": metrics.get("judge_accuracy", {}),
        "samplers": metrics.get("samplers", {}),
    }
    if run.model.directions() and gan:
        record["conditional_fidelity"] = conditional_fidelity(run, data, seed)
    return record


def conditional_fidelity(run: Run, data: MultimodalData, seed: int) -> dict[str, dict[str, float]]:
    """FID, KID, precision/recall of each direction's samples, generated from the test rows'
    sources, against those rows' real targets (the judge's features)."""
    judges = train_judges(data, seed=0)
    out = {}
    for sources, target in run.model.directions():
        rows = rows_with(data, "test", [*sources, target])[:1000]
        fidelity = JudgeFidelity(judges[target], max_samples=len(rows))
        fidelity.update_real(data.tensors[target][rows])
        with inference(run.model, seed):
            for chunk in rows.split(250):
                given = {m: data.tensors[m][chunk] for m in sources}
                fidelity.update_fake(run.model.generate(given=given, targets=[target])[target])
        out[f"{'+'.join(sources)}->{target}"] = fidelity.compute(seed)
    return out


# --- summaries -------------------------------------------------------------------------------
def headline(record: dict[str, Any]) -> dict[str, float]:
    """The figures a table row shows, from one seed's record."""
    row: dict[str, float] = {"s/epoch": record["seconds_per_epoch"]}
    for key, value in record["coherence"].items():
        row[f"coherence {key}"] = value
    for key, scores in record.get("conditional_fidelity", {}).items():
        row[f"FID {key}"] = scores["fid"]
        row[f"KID {key}"] = scores["kid"]
    for sampler, scores in record["samplers"].items():
        for modality, fidelity in (scores.get("fidelity") or {}).items():
            if modality == "image":
                row[f"FID image ({sampler})"] = fidelity["fid"]
                row[f"KID image ({sampler})"] = fidelity["kid"]
        if scores.get("joint_coherence") is not None:
            row[f"joint ({sampler})"] = scores["joint_coherence"]
        coverage = (scores.get("mode_coverage") or {}).get("image")
        if coverage:
            row[f"modes image ({sampler})"] = coverage["modes_covered"]
            row[f"label entropy image ({sampler})"] = coverage["normalised_entropy"]
    return row


def summarise(seeds: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{figure: {"mean", "std", "n"}}`` over the seeds that have it."""
    rows = [headline(r) for r in seeds.values()]
    keys = sorted({k for r in rows for k in r})
    out = {}
    for key in keys:
        values = [r[key] for r in rows if key in r and r[key] is not None]
        if values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            out[key] = {"mean": statistics.fmean(values), "std": std, "n": len(values)}
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"GANs on `{results.get('data')}`: GANs {results.get('gan_epochs')} epochs, MoPoE "
        f"{results.get('vae_epochs')} (the zoo's budget); mean ± std over seeds (n). FID/KID in "
        "the judges' penultimate features, 1,000 samples against the test set; seconds per epoch "
        "on a shared, loaded 2-core machine (compare within the table only).",
        "",
        "| entry | figure | mean ± std (n) |",
        "|---|---|---|",
    ]
    for label, record in results["entries"].items():
        for key, s in record.get("summary", {}).items():
            lines.append(f"| {label} | {key} | {s['mean']:.4g} ± {s['std']:.2g} ({s['n']}) |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
