"""MoPoE's joint coherence from the prior against the size of its latent space, per latent loss.

Issue 6 asks whether the latent losses that match the aggregate posterior to the prior (``mmd``,
``adversarial``) make samples from N(0, I) coherent. This grid holds everything else at the zoo's
``digits`` budget (16 epochs) and varies the latent size D and the loss, scoring each run with
``mmlatent evaluate``: joint coherence from the prior and from the fitted mixture, and the
cross-modal directions. Runs land in ``runs/latent-size/d<D>-<loss>-s<seed>`` and are reused
when finished; results go to ``benchmarks/results/latent-size-digits.json`` and a Markdown table.

    python benchmarks/latent_size.py --dims 4 6 8 16 32 --losses kl mmd adversarial --seeds 0

A variant adds overrides to every run of the grid and names its rows and run folders:

    python benchmarks/latent_size.py --dims 8 --losses adversarial --variant klw1 \
        --set model.options.latent_loss_options.kl_weight=1
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from mmlatent.config import RunConfig
from mmlatent.data.datasets import load_dataset
from mmlatent.run import METRICS_FILE, Run
from mmlatent.training.fit import fit
from mmlatent.workflows import evaluate_run

RESULTS = Path(__file__).parent / "results"
BUDGET = [
    "model.name=mopoe",
    "train.max_epochs=16",
    "train.progress_bar=false",
    "eval.n_unconditional=500",
    "eval.audio_roundtrip_limit=100",
]
DIRECTIONS = ("image->text", "image->audio", "text->image", "audio->image")
VARIANTS = "variants"  # results key: each variant's overrides
SECOND = "joint (prior, 2nd judges)"  # the second judges' joint coherence on the prior's draws


def run_config(dim: int, loss: str, seed: int, extra: list[str]) -> RunConfig:
    """One grid cell's config: the budget, the cell, then the variant's overrides."""
    cell = [f"seed={seed}", f"model.options.latent_dim={dim}", f"model.options.latent_loss={loss}"]
    return RunConfig().with_overrides([*BUDGET, *cell, *extra])


def scores(
    run_dir: Path, dim: int, loss: str, seed: int, data: Any, extra: list[str]
) -> dict[str, float]:
    """The grid's figures for one run (``extra``: the variant's overrides, applied last), fitted
    and evaluated unless it already was."""
    if not (run_dir / "model.safetensors").is_file():
        fit(run_config(dim, loss, seed, extra), run_dir, data=data)
    metrics_path = run_dir / METRICS_FILE
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
    else:
        metrics = evaluate_run(Run.load(run_dir), data=data)
    row = {d: metrics["coherence"][d] for d in DIRECTIONS}
    for sampler in ("prior", "gmm"):
        row[f"joint ({sampler})"] = metrics["samplers"][sampler]["joint_coherence"]
    row[SECOND] = metrics["samplers"]["prior"].get("second_judge_joint_coherence")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[4, 6, 8, 16, 32])
    parser.add_argument("--losses", nargs="+", default=["kl", "mmd", "adversarial"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/latent-size"))
    parser.add_argument("--variant", default="", help="names the rows and runs of --set")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if bool(args.variant) != bool(args.set):
        parser.error("--variant and --set go together")

    data = load_dataset("digits")
    out = RESULTS / "latent-size-digits.json"
    results: dict[str, Any] = json.loads(out.read_text()) if out.is_file() else {}
    if args.variant:
        results.setdefault(VARIANTS, {})[args.variant] = args.set
    for dim in args.dims:
        for loss in args.losses:
            for seed in args.seeds:
                name = f"{loss}-{args.variant}" if args.variant else loss
                run_dir = args.runs / f"d{dim}-{name}-s{seed}"
                print(f"== D={dim} {name} seed {seed}", flush=True)
                cell = results.setdefault(f"{dim}/{name}", {})
                cell[str(seed)] = scores(run_dir, dim, loss, seed, data, args.set)
                out.write_text(json.dumps(results, indent=2, sort_keys=True))
                out.with_suffix(".md").write_text(markdown(results))
    print(out.with_suffix(".md").read_text())


def markdown(results: dict[str, Any]) -> str:
    columns = ["joint (prior)", SECOND, "joint (gmm)", *DIRECTIONS]
    lines = [
        "MoPoE on `digits` at the zoo's budget (16 epochs), by latent size D and latent loss; "
        "coherence by the project's judges (the second judges' where marked), mean ± std over "
        "seeds (n); joint coherence on 1,000 draws (`eval.fidelity_samples`).",
        "",
        "| D | loss | " + " | ".join(columns) + " | seeds |",
        "|---|---|" + "---|" * len(columns) + "---|",
    ]
    cells_by_key = {k: v for k, v in results.items() if k != VARIANTS}
    for key in sorted(cells_by_key, key=lambda k: (int(k.split("/")[0]), k.split("/")[1])):
        dim, loss = key.split("/")
        seeds = list(results[key].values())
        cells = []
        for column in columns:
            values = [s[column] for s in seeds if s.get(column) is not None]
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.fmean(values):.3f}{spread}" if values else "–")
        lines.append(f"| {dim} | {loss} | " + " | ".join(cells) + f" | {len(seeds)} |")
    variants = results.get(VARIANTS, {})
    if variants:
        lines += ["", "Variants (overrides on top of the budget):", ""]
        lines += [f"- `{name}`: `{' '.join(sets)}`" for name, sets in sorted(variants.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
