"""What a lower sampling temperature buys in coherence and costs in variety, on trained runs.

``generate(..., temperature=t)`` decodes mean + t (draw - mean): 1 is the coherence protocol's
draw, 0 the posterior mean. Lowering it is the truncation trade of Kingma & Dhariwal (Glow) and
Brock et al. (BigGAN): samples nearer the mode are clearer and less varied. For each run and
temperature, two directions (image->audio, the one the independent judge hears least well, and
text->image) are generated once per test row, with the same seed at every temperature, and
measured four ways:

* coherence: the project's judge of the target (and for audio the independent judge, after the
  run's Griffin-Lim);
* fidelity against the same rows' real targets, in the target judge's features (FID, and the
  k-NN precision and recall of Kynkaenniemi et al. 2019: precision is how many outputs fall on
  the real data's manifold, recall how much of it they cover);
* spread: the standard deviation over ``DRAWS`` outputs of one input, averaged over values and
  over the first ``SPREAD_ROWS`` rows, as a fraction of the same at temperature 1.

Nothing is written into the runs; results go to ``benchmarks/results/temperature-<tag>.json``
and a Markdown table.

    python benchmarks/temperature.py RUN [RUN ...] --label L [--label L ...] --tag T
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).parent))
from audio_errors import heard_run
from audio_remedies import Ears, generated
from independent_judge import (
    audio_modality,
    judge_for,
    labelled_runs,
    pick_rows,
    run_arguments,
    write_results,
)

from mmlatent.evaluation.coherence import rows_with
from mmlatent.evaluation.fidelity import JudgeFidelity

RESULTS = Path(__file__).parent / "results"
TEMPERATURES = (1.0, 0.75, 0.5, 0.25, 0.0)
DIRECTIONS = (("image", "audio"), ("text", "image"))
DRAWS = 8
SPREAD_ROWS = 100
MEASURES = ("indep", "ours", "fid", "precision", "recall", "spread")
HEADERS = {"indep": "coherence (indep.)", "ours": "coherence (ours)"}
DIGITS = {"fid": 1}


def at(model: Any, source: str, target: str, temperature: float) -> Any:
    """given -> the target generated at ``temperature``."""
    return lambda given: model.generate(given=given, targets=[target], temperature=temperature)[
        target
    ]


def spread(data: Any, rows: Tensor, make: Any, source: str) -> float:
    """Mean over values and rows of the standard deviation over ``DRAWS`` outputs per input."""
    repeated = rows.repeat_interleave(DRAWS)
    made = generated(data, repeated, make, (source,)).float()
    return float(made.view(len(rows), DRAWS, -1).std(1).mean())


def measure(path: Path, judge: Any, *, rows: int) -> dict[str, Any]:
    run, model, data, ours = heard_run(path)
    ears = Ears(judge, ours["audio"], audio_modality(run, data))
    out: dict[str, Any] = {"run": str(path)}
    for source, target in DIRECTIONS:
        picked = pick_rows(rows_with(data, "test", [source, target]), rows, 0)
        truth = data.labels[picked].numpy()
        fidelity = JudgeFidelity(ours[target], max_samples=len(picked))
        fidelity.update_real(data.tensors[target][picked].float())
        per_temperature: dict[str, Any] = {}
        for t in TEMPERATURES:
            make = at(model, source, target, t)
            made = generated(data, picked, make, (source,))
            if target == "audio":
                scores = ears(made, truth)
            else:
                scores = {"ours": float((ours[target].predict(made).numpy() == truth).mean())}
            fidelity.reset()
            fidelity.update_fake(made.float())
            scores |= fidelity.compute()
            scores["spread"] = spread(data, picked[:SPREAD_ROWS], make, source)
            per_temperature[str(t)] = scores
            print(f"  {source}->{target} t={t}: {scores}", flush=True)
        out[f"{source}->{target}"] = per_temperature
    out["rows"] = rows
    return out


# --- the table -----------------------------------------------------------------------------------
def summary(results: dict[str, Any], direction: str) -> dict[str, dict[str, list[float]]]:
    """{temperature: {measure: [value per run]}}; spread as a fraction of temperature 1's."""
    table: dict[str, dict[str, list[float]]] = {}
    for result in results["runs"].values():
        cells = result[direction]
        full = cells[str(TEMPERATURES[0])]["spread"]
        for t, scores in cells.items():
            row = table.setdefault(t, {})
            for key, value in scores.items():
                row.setdefault(key, []).append(value / full if key == "spread" else value)
    return table


def cell(values: list[float], digits: int = 3) -> str:
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {float(np.std(values)):.{digits}f}"


def markdown(results: dict[str, Any]) -> str:
    runs = list(results["runs"])
    lines = [
        f"Sampling temperature (benchmarks/temperature.py) over {len(runs)} runs "
        f"({', '.join(runs)}): mean ± std over runs, {results['rows']} test rows per direction, "
        "one output per row, the same seed at every temperature. `1.0` is the coherence "
        "protocol's draw, `0.0` the posterior mean. FID, precision and recall in the target "
        f"judge's features against the same rows' real targets; spread over {DRAWS} outputs of "
        f"one input ({SPREAD_ROWS} rows), as a fraction of temperature 1's.",
    ]
    for direction in (f"{s}->{t}" for s, t in DIRECTIONS):
        table = summary(results, direction)
        keys = [k for k in MEASURES if k in table[str(TEMPERATURES[0])]]
        lines += [
            "",
            f"### {direction}",
            "",
            "| temperature | " + " | ".join(HEADERS.get(k, k) for k in keys) + " |",
            "|---|" + "---|" * len(keys),
        ]
        for t, row in table.items():
            lines.append(
                f"| {t} | " + " | ".join(cell(row[k], DIGITS.get(k, 3)) for k in keys) + " |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = run_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    runs = labelled_runs(parser, args)
    torch.set_num_threads(1)
    judge = judge_for("avmnist")
    results: dict[str, Any] = {"rows": args.rows, "temperatures": TEMPERATURES, "runs": {}}
    for label, path in runs:
        print(f"== {label}", flush=True)
        results["runs"][label] = measure(path, judge, rows=args.rows)
    write_results(results, RESULTS / f"temperature-{args.tag}.json", markdown(results))


if __name__ == "__main__":
    main()
