"""Does the independent audio judge's BatchNorm decide its image->audio figures? The same judge
(front end, training clips, augmentation, seed; ``independent_judge.py``) built with BatchNorm
and with GroupNorm, side by side.

``docs/evaluation.md`` names the suspicion: BatchNorm's running statistics are estimated on real
clips, generated log-mels are smoother, and the project's own judges dropped BatchNorm for that
reason after an image judge misread blurry digits. GroupNorm normalises each clip by its own
statistics. Both judges hear the same waveforms:

* real test log-mels sent through Griffin-Lim, as they are and blurred by Gaussians of
  ``BLURS`` bins: how each judge takes detail lost, on clips whose digit is known to be there;
* each run's image->audio on up to ``--rows`` test rows, one drawn code per row (the zoo's
  protocol and seed), and its audio->audio reconstructions, with the fraction of rows on which
  the two judges give the same label.

Results go to ``benchmarks/results/judge-norms-<tag>.json`` and a Markdown table.

    python benchmarks/judge_norms.py RUN [RUN ...] --label L [--label L ...] --tag avmnist
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from independent_judge import (
    NORMS,
    IndependentAudioJudge,
    generated_waveforms,
    judge_for,
    labelled_runs,
    real_waveforms,
    run_arguments,
    write_results,
)

from mmlatent.run import Run
from mmlatent.workflows import load_run_data

RESULTS = Path(__file__).parent / "results"
BLURS = (0.0, 0.5, 1.0, 2.0)
"""Gaussian blurs (mel bins and frames) of the real log-mels; 0 is Griffin-Lim alone."""
DIRECTIONS = {"image->audio": ("image",), "audio->audio": ("audio",)}


def hear(judges: dict[str, IndependentAudioJudge], waves: list[Any], labels: np.ndarray) -> dict:
    """Each judge's accuracy on ``waves``, and how often the judges give the same label."""
    heard = {norm: judge.predict(waves) for norm, judge in judges.items()}
    first, *rest = heard.values()
    same = np.ones(len(labels), dtype=bool)
    for other in rest:
        same &= other == first
    out = {norm: float(np.mean(h == labels)) for norm, h in heard.items()}
    return out | {"agree": float(same.mean())}


def real_clips(data: Any, judges: dict[str, IndependentAudioJudge], rows: int) -> dict:
    """The judges on real test log-mels through Griffin-Lim, at each blur."""
    return {
        f"{sigma:g}": hear(judges, *real_waveforms(data, limit=rows, blur=sigma)) for sigma in BLURS
    }


@torch.no_grad()
def hear_run(path: Path, judges: dict[str, IndependentAudioJudge], rows: int) -> dict:
    run = Run.load(path)
    data = load_run_data(run)
    out: dict[str, Any] = {"run": str(path)}
    for key, sources in DIRECTIONS.items():
        waves, labels = generated_waveforms(run, data, sources, limit=rows, seed=0)
        out[key] = hear(judges, waves, labels) | {"rows": len(labels)}
    return out


def markdown(results: dict[str, Any]) -> str:
    norms = results["norms"]
    held = ", ".join(f"{n} {results['held_out'][n]:.3f}" for n in norms)
    lines = [
        "The independent audio judge with BatchNorm and with GroupNorm (otherwise the same), on "
        f"the same waveforms; {results['rows']} test rows each (held-out real clips: {held}).",
        "",
        "| clips | " + " | ".join(norms) + " | same label |",
        "|---|" + "---|" * (len(norms) + 1),
    ]
    for sigma, scores in results["real"].items():
        name = "real, Griffin-Lim" if sigma == "0" else f"real, blurred {sigma} bin"
        lines.append(
            f"| {name} | " + " | ".join(f"{scores[n]:.3f}" for n in [*norms, "agree"]) + " |"
        )
    for label, run in results["runs"].items():
        for key in DIRECTIONS:
            scores = run[key]
            cells = " | ".join(f"{scores[n]:.3f}" for n in [*norms, "agree"])
            lines.append(f"| {label}: {key} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = run_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    runs = labelled_runs(parser, args)
    torch.set_num_threads(1)
    judges = {norm: judge_for("avmnist", norm=norm) for norm in NORMS}
    first = Run.load(runs[0][1])
    results: dict[str, Any] = {
        "rows": args.rows,
        "norms": list(NORMS),
        "held_out": {n: j.held_out_accuracy for n, j in judges.items()},
        "real": real_clips(load_run_data(first), judges, args.rows),
        "runs": {},
    }
    print(results["real"], flush=True)
    for label, path in runs:
        results["runs"][label] = hear_run(path, judges, args.rows)
        print(label, results["runs"][label], flush=True)
    write_results(results, RESULTS / f"judge-norms-{args.tag}.json", markdown(results))


if __name__ == "__main__":
    main()
