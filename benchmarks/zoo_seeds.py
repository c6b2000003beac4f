"""The zoo over seeds: mean ± std of several ``zoo.py`` results files, against MultiVae.

Each input is one seed's ``benchmarks/results/zoo-avmnist-<tag>.json`` (``zoo.py --set seed=S``);
an entry counts every file that holds it. The table gives each direction and joint coherence from the
prior as mean ± std, then, per model, in how many of MultiVae's ten figures it is ahead on every
seed: a lead that one seed's noise could explain is not counted, and each figure missed is
given with its worst seed's value, beside MultiVae's on the next row.

    python benchmarks/zoo_seeds.py --out zoo-avmnist-logmel32-seeds \\
        results/zoo-avmnist-logmel32.json results/zoo-avmnist-logmel32-seed1.json ...
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

# MultiVae 1.0.3 on a comparable AV-MNIST protocol (MNIST 10k train / 2k test, FSDD log-mel 32x32,
# the digit's word as text, latent 32, batch 128, 30 epochs), as issue 6 reports it. The last
# figure is joint coherence from the prior.
MULTIVAE_DIRECTIONS = (
    "image->audio", "image->text", "audio->image", "audio->text", "text->image", "text->audio",
    "image+audio->text", "image+text->audio", "text+audio->image",
)  # fmt: skip
MULTIVAE: dict[str, tuple[float, ...]] = {
    "mopoe": (.647, .911, .812, .871, .983, .730, .958, .726, .978, .327),
    "mvae": (.207, .670, .104, .159, .531, .274, .750, .363, .538, .100),
    "jmvae": (.791, .869, .742, .755, .823, .732, .926, .868, .927, .441),
    "mmvae": (.718, .904, .933, .931, .996, .902, .917, .828, .959, .432),
    "mmvae+": (.717, .874, .835, .888, .971, .840, .887, .786, .887, .421),
}  # fmt: skip
COLUMNS = (*MULTIVAE_DIRECTIONS, "joint prior")
INDEPENDENT = "image->audio (indep.)"


def figures(entry: dict[str, Any]) -> dict[str, float]:
    """One entry's ten MultiVae figures and the independent judge's image->audio."""
    out = {d: entry["coherence"][d] for d in MULTIVAE_DIRECTIONS if d in entry["coherence"]}
    out["joint prior"] = entry["joint_coherence"]["prior"]
    independent = entry.get("coherence_independent_audio_judge", {}).get("image->audio")
    if independent is not None:
        out[INDEPENDENT] = independent
    return out


def collect(files: list[Path], only: set[str] | None = None) -> dict[str, list[dict[str, float]]]:
    """{entry: [figures per seed]}, from the files that hold the entry, finished; with ``only``,
    those entries alone (a file of one seed may hold models measured under other conditions)."""
    seeds: dict[str, list[dict[str, float]]] = {}
    for path in files:
        for label, entry in json.loads(path.read_text())["entries"].items():
            if "coherence" in entry and (only is None or label in only):
                seeds.setdefault(label, []).append(figures(entry))
    return seeds


def ahead_on_every_seed(label: str, runs: list[dict[str, float]]) -> list[str]:
    """The MultiVae figures this entry beats on every seed."""
    reference = dict(zip(COLUMNS, MULTIVAE[label], strict=True))
    return [c for c in COLUMNS if all(r.get(c, -1.0) > reference[c] for r in runs)]


def markdown(seeds: dict[str, list[dict[str, float]]], sources: list[str]) -> str:
    head = ["entry", "seeds", *COLUMNS, INDEPENDENT, "ahead of MultiVae on every seed"]
    lines = [
        "AV-MNIST zoo over seeds (mean ± std; our judge unless marked indep.), from: "
        + ", ".join(f"`{s}`" for s in sources),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for label, runs in seeds.items():
        cells = [label, str(len(runs))]
        for column in (*COLUMNS, INDEPENDENT):
            values = [r[column] for r in runs if column in r]
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.fmean(values):.3f}{spread}" if values else "–")
        if label in MULTIVAE:
            ahead = ahead_on_every_seed(label, runs)
            # Each figure missed, with its worst seed: "behind" and "level at the ceiling" read
            # the same in a count.
            behind = [
                f"{c} {min(r.get(c, -1.0) for r in runs):.4f}" for c in COLUMNS if c not in ahead
            ]
            cells.append(f"{len(ahead)} of 10" + (f" (not: {', '.join(behind)})" if behind else ""))
        else:
            cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
        if label in MULTIVAE:
            ref = ["*MultiVae*", "", *(f"{x:.3f}" for x in MULTIVAE[label]), "", ""]
            lines.append("| " + " | ".join(ref) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+", help="zoo results, one seed each")
    parser.add_argument("--out", required=True, help="results name, without extension")
    parser.add_argument("--only", help="comma-separated entries to keep (default: all)")
    args = parser.parse_args()
    seeds = collect(args.files, set(args.only.split(",")) if args.only else None)
    sources = [p.name for p in args.files]
    out = RESULTS / f"{args.out}.json"
    out.write_text(json.dumps({"sources": sources, "seeds": seeds}, indent=2))
    out.with_suffix(".md").write_text(markdown(seeds, sources))
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
