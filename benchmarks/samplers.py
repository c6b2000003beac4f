"""Latent samplers on one trained run: each fitted with several seeds, judged on the same model.

For every seed, each sampler is fitted to the run's training codes (the posterior means that
``mmlatent fit-sampler`` uses) with that seed, timed, and its draws (seeded alike) are judged by
the run's evaluation code (:func:`mmlatent.evaluation.sampler_comparison.compare_samplers`):
joint coherence, and FID/KID in the judges' features against the test split, at each sampling
temperature asked for (``LatentSampler.sample``: 1 samples the fitted density, lower pulls draws
toward its centres). The real reference set and the decoding seed are the run's own for every
seed, so the spread over seeds is the samplers' alone. Nothing is written into the run. Results go to
``benchmarks/results/samplers-<data>[-<tag>].json`` and a Markdown table beside it.

    python benchmarks/samplers.py RUN --seeds 0 1 2
    python benchmarks/samplers.py RUN --entry prior --entry gmm \\
        --entry "ld-long=latent-diffusion:steps=20000" --tag long   # a variant under its own label
    python benchmarks/samplers.py RUN --entry prior --entry gmm --temperatures 1 0.75 0.5 --tag t
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from mmlatent.config import parse_value
from mmlatent.evaluation import train_judges
from mmlatent.evaluation.sampler_comparison import compare_samplers
from mmlatent.run import Run
from mmlatent.run_samplers import train_codes
from mmlatent.samplers import build_sampler
from mmlatent.workflows import load_run_data

RESULTS = Path(__file__).parent / "results"
DEFAULT_ENTRIES = ["prior", "gmm", "latent-gan", "latent-diffusion"]
TRAINING_CODES = "training codes (reference)"
SUMMARY_FIGURES = (
    "joint_coherence",
    "fid",
    "kid",
    "image_recall",
    "audio_fid",
    "nearest_code_ratio",
    "fit_seconds",
)
EMPTY = {"mean": math.nan, "std": math.nan, "n": 0}
"""The summary of a figure with no values: the data has none (audio FID without audio), or an
older results file did not record it."""


def parse_entry(text: str) -> tuple[str, str, dict[str, Any]]:
    """``label=sampler:key=value,key=value`` (label and options optional; a label holds no ``=``
    or ``:``) -> (label, sampler, options); values are read as YAML, like ``--set``."""
    label, sep, rest = text.partition("=")
    if not sep or ":" in label:
        label, rest = "", text
    name, _, raw_options = rest.partition(":")
    options = {}
    for item in filter(None, raw_options.split(",")):
        key, _, value = item.partition("=")
        options[key.strip()] = parse_value(value, f"entry {text!r}")
    return label or name, name, options


def benchmark(
    run: Run,
    entries: list[str],
    seeds: list[int],
    n: int,
    *,
    with_training_codes: bool = True,
    temperatures: tuple[float, ...] = (1.0,),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(per-seed figures ``{label: [{seed, fit_seconds, joint_coherence, fid, kid, ...}]}``,
    facts about the codes); ``with_training_codes`` adds the training codes themselves as a
    reference row: what a sampler that reproduced their distribution exactly would score. With
    more than one of ``temperatures``, each sampler has a row per temperature (one fit)."""
    data = load_run_data(run)
    cfg = run.config.eval
    judges = train_judges(data, seed=run.config.seed, max_epochs=cfg.judge_epochs)
    codes = train_codes(run, data)  # (N, D) posterior means, as fit-sampler uses
    held_out = split_codes(run, data, "test")
    parsed = [parse_entry(e) for e in entries]
    for _, name, options in parsed:
        build_sampler(name, **options)  # a bad name or option fails now, not after hours of fits
    per_seed: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        for label, name, options in parsed:
            sampler = build_sampler(name, **options)
            started = time.perf_counter()
            sampler.fit(codes, generator=torch.Generator().manual_seed(seed))
            sampler.bind_model(run.model)
            fit_seconds = time.perf_counter() - started
            for t in temperatures:
                tempered = partial(sampler.sample, temperature=t)
                row = judge_draws(run, data, judges, tempered, seed, n, codes, held_out)
                row_label = tempered_label(label, t, temperatures)
                rows = per_seed.setdefault(row_label, [])
                rows.append({"fit_seconds": fit_seconds, **row, "info": sampler.info})
                _print(row_label, rows[-1])
        if with_training_codes:  # the reference: the codes themselves, drawn with replacement

            def resample(k: int, *, generator: torch.Generator) -> torch.Tensor:
                return codes[torch.randint(0, len(codes), (k,), generator=generator)]

            row = judge_draws(run, data, judges, resample, seed, n, codes, held_out)
            per_seed.setdefault(TRAINING_CODES, []).append({"fit_seconds": 0.0, **row})
            _print(TRAINING_CODES, per_seed[TRAINING_CODES][-1])
    facts = {"n_codes": len(codes), "latent_dim": codes.shape[1], "codes": "posterior means"}
    return per_seed, facts


def tempered_label(label: str, temperature: float, temperatures: tuple[float, ...]) -> str:
    """A sampler's row label: its own with one temperature, with ``t=...`` added with several."""
    return label if len(temperatures) == 1 else f"{label}, t={temperature:g}"


def judge_draws(
    run: Run,
    data: Any,
    judges: dict[str, Any],
    sample: Callable[..., torch.Tensor],
    seed: int,
    n: int,
    codes: torch.Tensor,
    held_out: torch.Tensor,
) -> dict[str, Any]:
    """Figures of ``n`` draws of ``sample(k, generator=...)`` seeded by ``seed``, through the
    run's sampler comparison; the real reference and the decoding seed are the run's."""
    generator = torch.Generator().manual_seed(seed)
    scores = compare_samplers(
        run.model,
        data,
        judges,
        {"draws": lambda k: sample(k, generator=generator)},
        n=n,
        batch_size=run.config.eval.batch_size,
        seed=run.config.seed,
    )["draws"]
    image = scores["fidelity"].get("image", {})
    drawn = sample(n, generator=torch.Generator().manual_seed(seed + 1000))
    return {
        "seed": seed,
        "joint_coherence": scores["joint_coherence"],
        "fid": image.get("fid"),
        "kid": image.get("kid"),
        "image_recall": image.get("recall"),
        "audio_fid": scores["fidelity"].get("audio", {}).get("fid"),
        "nearest_code_ratio": nearest_code_ratio(drawn, codes, held_out),
        "fidelity": scores["fidelity"],  # every judged image-like modality (audio too)
        "modes_covered": {m: c["modes_covered"] for m, c in scores["mode_coverage"].items()},
    }


def _print(label: str, row: dict[str, Any]) -> None:
    print(
        f"seed {row['seed']} {label}: joint {row['joint_coherence']:.3f} FID {row['fid']:.1f} "
        f"KID {row['kid']:.2f} NN-ratio {row['nearest_code_ratio']:.2f} "
        f"fit {row['fit_seconds']:.1f}s",
        flush=True,
    )


@torch.no_grad()
def split_codes(run: Run, data: Any, split: str) -> torch.Tensor:
    """Posterior means of ``split``'s rows (``train_codes`` does this for the training split)."""
    names = [m for m in run.model.modalities if m in data.masks]
    batch = data.batch(data.rows_with_any(split, names))
    run.model.eval()
    return run.model.embed(batch["data"], batch["mask"])  # (N_split, D)


def nearest_code_ratio(drawn: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> float:
    """Median distance from a drawn code to its nearest training code, over the same for the
    held-out codes, in per-dimension standardised units: about 1 for a sampler that draws like
    new data, well under 1 for one that copies (or crowds onto) the training codes."""
    shift, scale = train.mean(dim=0), train.std(dim=0)

    def nearest(x: torch.Tensor) -> torch.Tensor:
        return (
            torch.cdist((x.double() - shift) / scale, (train.double() - shift) / scale)
            .min(1)
            .values
        )

    return float(nearest(drawn).median() / nearest(held_out).median())


def mean_std(values: list[float]) -> dict[str, float]:
    if not values:  # a figure this data has not got (audio FID without audio)
        return dict(EMPTY)
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else math.nan,
        "n": len(values),
    }


def summary(per_seed: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {
        label: {f: mean_std([r[f] for r in rows if r.get(f) is not None]) for f in SUMMARY_FIGURES}
        for label, rows in per_seed.items()
    }


def markdown(result: dict[str, Any]) -> str:
    def cell(s: dict[str, float], digits: int) -> str:
        if s["n"] == 0:
            return "–"
        if s["n"] < 2:  # one seed: no spread to show
            return f"{s['mean']:.{digits}f}"
        return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"

    lines = [
        f"Latent samplers on `{result['run']}` ({result['model']} on {result['data']}): each "
        f"fitted to the {result['codes']['n_codes']} training posterior means "
        f"(D = {result['codes']['latent_dim']}) with seeds {result['seeds']}; mean ± std over "
        f"the seeds. {result['n_samples']} samples per sampler and seed; FID/KID in the judges' "
        "penultimate features against the test split. Nearest-code ratio: median distance of a "
        "drawn code to its nearest training code over that of a test code (about 1: draws like "
        "new data; far below 1: copies the training codes). Fit seconds on a shared 2-core machine "
        f"(load average {result['load_average'][0]:.1f} at the start).",
        "",
        "| sampler | joint coherence | image FID | image KID | image recall | audio FID | "
        "nearest-code ratio | fit s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, s in result["summary"].items():
        lines.append(
            f"| {label} | {cell(s['joint_coherence'], 3)} | {cell(s['fid'], 1)} | "
            f"{cell(s['kid'], 2)} | {cell(s.get('image_recall', EMPTY), 2)} | "
            f"{cell(s.get('audio_fid', EMPTY), 1)} | {cell(s['nearest_code_ratio'], 2)} | "
            f"{cell(s['fit_seconds'], 1)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a trained run folder (read only)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--entry",
        action="append",
        help="label=sampler:key=value,... (repeatable; default: "
        + ", ".join(DEFAULT_ENTRIES)
        + ")",
    )
    parser.add_argument("--n", type=int, help="samples per sampler (default: the run's)")
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[1.0],
        help="sampling temperatures, a row each (default: 1, the fitted density)",
    )
    parser.add_argument(
        "--no-training-codes", action="store_true", help="leave out the training-codes row"
    )
    parser.add_argument("--tag", help="suffix of the results file, for a variant's own table")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    args = parser.parse_args()

    run = Run.load(args.run)
    n = args.n or run.config.eval.fidelity_samples
    load = list(os.getloadavg())
    started = time.perf_counter()
    per_seed, codes = benchmark(
        run,
        args.entry or DEFAULT_ENTRIES,
        args.seeds,
        n,
        with_training_codes=not args.no_training_codes,
        temperatures=tuple(args.temperatures),
    )
    result = {
        "benchmark": "latent samplers fitted to one run's codes, several seeds",
        "run": str(args.run),
        "model": run.config.model.name,
        "data": run.config.data.name,
        "codes": codes,
        "seeds": args.seeds,
        "n_samples": n,
        "entries": args.entry or DEFAULT_ENTRIES,
        "temperatures": args.temperatures,
        "summary": summary(per_seed),
        "per_seed": per_seed,
        "seconds": time.perf_counter() - started,
        "load_average": load,
        "load_average_end": list(os.getloadavg()),
        "machine": {"python": platform.python_version(), "torch": torch.__version__},
    }
    suffix = f"-{args.tag}" if args.tag else ""
    out_json = args.out / f"samplers-{run.config.data.name}{suffix}.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=2, default=float))
    out_json.with_suffix(".md").write_text(markdown(result))
    print(out_json.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
