"""A second view of image FID: the Fréchet distance in the second image judge's front end
(2 x 2 average-pooled pixels, each image standardised), which shares nothing with the CNN judge
whose penultimate features the headline FID uses. A ranking of generators that holds in both
feature spaces does not hang on one network's view of their artefacts.

Each run draws 1,000 unconditional images: a GAN from its noise, a VAE through each named
fitted sampler saved in the run. Results go to ``benchmarks/results/pixel-fid-<data>.json`` and
a Markdown table.

    python benchmarks/pixel_fid.py --data digits --runs runs/gan200/digits/gan-s* \
        runs/gan/digits/mopoe-s* --samplers gmm latent-diffusion
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance

from mmlatent.data.datasets import load_dataset
from mmlatent.evaluation.coherence import rows_with
from mmlatent.evaluation.runtime import inference
from mmlatent.evaluation.second_judges import pooled_pixel_features
from mmlatent.registry import SAMPLERS
from mmlatent.run import Run
from mmlatent.workflows import seeded_draws

sys.path.insert(0, str(Path(__file__).parent))
from zoo import DATA_OPTIONS

RESULTS = Path(__file__).parent / "results"
N_SAMPLES = 1000


class PooledPixels(nn.Module):
    """(B, C, H, W) -> (B, C * H/2 * W/2): the second image judge's front end, as torchmetrics'
    ``feature=`` module."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        channels, height, width = shape
        self.num_features = channels * (height // 2) * (width // 2)

    def forward(self, x: Tensor) -> Tensor:
        return pooled_pixel_features(x)


def unconditional_images(run: Run, sampler: str | None, data, seed: int) -> Tensor:
    """N_SAMPLES images from a GAN's noise (``sampler`` None) or a VAE's fitted sampler."""
    latent = None
    if sampler is not None and SAMPLERS.get(sampler).fitted_to_codes:
        latent = seeded_draws(run, data, sampler, seed)(N_SAMPLES)
    n = None if latent is not None else N_SAMPLES
    with inference(run.model, seed):
        return run.model.generate(n, latent=latent, targets=["image"])["image"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA_OPTIONS), default="digits")
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--samplers", nargs="+", default=["gmm"])
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        help="names the generator of the run at this "
        "place in --runs (default: its model); runs with one label are its seeds",
    )
    parser.add_argument("--tag", default="", help="results go to pixel-fid-<data>[-<tag>].*")
    args = parser.parse_args()
    if len(args.label) > len(args.runs):
        parser.error("more --label values than runs")

    data = load_dataset(args.data, **DATA_OPTIONS[args.data])  # --data choices are data set names
    test = data.tensors["image"][rows_with(data, "test", ["image"])]
    test = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:N_SAMPLES]]
    fid = FrechetInceptionDistance(
        feature=PooledPixels(tuple(test.shape[1:])), reset_real_features=False
    )
    fid.update(test, real=True)

    scores: dict[str, list[float]] = {}
    for i, path in enumerate(args.runs):
        run = Run.load(path)
        gan = not run.model.capabilities.encodes
        name = args.label[i] if i < len(args.label) else run.model.registry_name
        for sampler in [None] if gan else args.samplers:
            label = f"{name} ({sampler or 'noise'})"
            fid.reset()
            fid.update(unconditional_images(run, sampler, data, run.config.seed), real=False)
            scores.setdefault(label, []).append(float(fid.compute()))
            print(f"{path} {label}: {scores[label][-1]:.2f}", flush=True)

    summary = {
        label: {
            "mean": statistics.fmean(v),
            "std": statistics.stdev(v) if len(v) > 1 else 0.0,
            "n": len(v),
            "values": v,
        }
        for label, v in scores.items()
    }
    out = RESULTS / f"pixel-fid-{args.data}{'-' + args.tag if args.tag else ''}.json"
    out.write_text(json.dumps({"runs": [str(p) for p in args.runs], "fid": summary}, indent=2))
    lines = [
        f"Image FID on `{args.data}` in pooled pixels (the second image judge's front end), "
        f"{N_SAMPLES} unconditional samples per run against {len(test)} test images; "
        "mean ± std over runs (seeds).",
        "",
        "| generator | pixel FID | runs |",
        "|---|---|---|",
    ]
    for label, s in sorted(summary.items(), key=lambda kv: kv[1]["mean"]):
        lines.append(f"| {label} | {s['mean']:.2f} ± {s['std']:.2f} | {s['n']} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
