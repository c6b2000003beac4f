"""Where image->audio loses under the independent audio judge: the digit in the code, or the sound.

For each run, one code per test row is drawn from the image's posterior and decoded to text and
audio together, so both targets come from the same code. The project's text judge says whether
the code carries the right digit; the independent audio judge (``independent_judge.py``) hears
the audio after the run's Griffin-Lim. Cross-tabulating the two separates errors of the code
(text wrong too) from errors of the audio decoder (text right, audio wrong). Two references
bound the audio: the same judge on the run's audio->audio reconstructions, and on the real test
log-mels sent through Griffin-Lim (the most any generator can score). A third calibrates the
judge on smoothness: the real log-mels blurred by a Gaussian of ``BLUR`` bins, then heard. Beside
them, how much detail each set of log-mels keeps (``detail``: neighbour-to-neighbour steps as a
fraction of the real log-mels'), so a decoder's smoothness reads against the blurred reals' score.
Codes are drawn (the
coherence protocol) and, for comparison, taken at the posterior mean. Nothing is written into
the runs; results go to ``benchmarks/results/audio-errors-<tag>.json`` and a Markdown table.

    python benchmarks/audio_errors.py RUN [RUN ...] --tag avmnist-learned-prior
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from independent_judge import (
    audio_modality,
    blurred,
    griffin_lim_ceiling,
    judge_for,
    labelled_runs,
    pick_rows,
    run_arguments,
    waveforms,
    write_results,
)

from mmlatent.evaluation import train_judges
from mmlatent.evaluation.coherence import rows_with
from mmlatent.run import Run
from mmlatent.workflows import load_run_data

RESULTS = Path(__file__).parent / "results"
BLUR = 1.0
"""Gaussian blur (in mel bins and frames) of the real log-mels that calibrate the judge."""
COLUMNS = (
    "image->text",
    "image->audio (indep.)",
    "image->audio (ours)",
    "audio wrong, text right",
    "audio right, text wrong",
    "image->audio (indep.), mean code",
    "audio->audio (indep.)",
    "Griffin-Lim ceiling",
    f"ceiling, real blurred {BLUR:g} bin (indep.)",
    "detail: image->audio",
    "detail: audio->audio",
    f"detail: real blurred {BLUR:g} bin",
)


def detail(mels: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean absolute step between neighbouring bins and frames of ``mels``, as a fraction of the
    same for ``reference`` (the real log-mels of those rows): 1 is as detailed, lower is smoother."""

    def steps(x: torch.Tensor) -> float:
        return float(x.diff(dim=-1).abs().mean() + x.diff(dim=-2).abs().mean())

    return steps(mels) / steps(reference)


def crosstab(text_right: np.ndarray, audio_right: np.ndarray) -> dict[str, float]:
    """Rates over rows: each target's accuracy, and audio errors split by whether the same
    code's text was right (an audio-decoder error) or wrong (a code error)."""
    text_right, audio_right = text_right.astype(bool), audio_right.astype(bool)
    right, wrong = text_right.sum(), (~text_right).sum()
    return {
        "text": float(text_right.mean()),
        "audio": float(audio_right.mean()),
        "audio_wrong_given_text_right": float((~audio_right & text_right).sum() / max(right, 1)),
        "audio_right_given_text_wrong": float((audio_right & ~text_right).sum() / max(wrong, 1)),
    }


def heard_run(path: Path) -> tuple[Run, Any, Any, dict[str, Any]]:
    """A run, its model (in eval mode), its data and the project's judges for that data."""
    run = Run.load(path)
    data = load_run_data(run)
    judges = train_judges(data, seed=run.config.seed, max_epochs=run.config.eval.judge_epochs)
    return run, run.model.eval(), data, judges


@torch.no_grad()
def diagnose(path: Path, judge: Any, *, rows: int, seed: int) -> dict[str, Any]:
    run, model, data, judges = heard_run(path)
    audio = audio_modality(run, data)  # its own Griffin-Lim
    picked = pick_rows(rows_with(data, "test", ["image", "audio"]), rows, seed)
    labels = data.labels[picked].numpy()
    real = data.tensors["audio"][picked]
    out: dict[str, Any] = {"run": str(path), "rows": len(picked)}
    for key, temperature in (("sampled", 1.0), ("mean", 0.0)):
        torch.manual_seed(seed)
        text_right, heard_right, ours_right, mels = [], [], [], []
        for chunk in picked.split(250):
            made = model.generate(
                given={"image": data.tensors["image"][chunk]},
                targets=["text", "audio"],
                temperature=temperature,
            )
            mels.append(made["audio"])
            truth = data.labels[chunk].numpy()
            text_right.append(judges["text"].predict(made["text"]).numpy() == truth)
            heard_right.append(judge.predict(waveforms(audio, made["audio"])) == truth)
            ours_right.append(judges["audio"].predict(made["audio"]).numpy() == truth)
        table = crosstab(np.concatenate(text_right), np.concatenate(heard_right))
        table["audio_ours"] = float(np.concatenate(ours_right).mean())
        table["detail"] = detail(torch.cat(mels), real)
        out[key] = table
    torch.manual_seed(seed)
    rebuilt = model.generate(given={"audio": real}, targets=["audio"])
    out["audio_to_audio"] = judge.accuracy(waveforms(audio, rebuilt["audio"]), None, labels)
    out["audio_to_audio_detail"] = detail(rebuilt["audio"], real)
    out["griffin_lim_ceiling"] = griffin_lim_ceiling(data, judge, limit=rows, seed=seed)
    out["blurred_ceiling"] = griffin_lim_ceiling(data, judge, limit=rows, seed=seed, blur=BLUR)
    out["blurred_detail"] = detail(blurred(real, BLUR), real)
    return out


def row(result: dict[str, Any]) -> list[float]:
    sampled, mean = result["sampled"], result["mean"]
    return [
        sampled["text"],
        sampled["audio"],
        sampled["audio_ours"],
        sampled["audio_wrong_given_text_right"],
        sampled["audio_right_given_text_wrong"],
        mean["audio"],
        result["audio_to_audio"],
        result["griffin_lim_ceiling"],
        result.get("blurred_ceiling", float("nan")),  # files written before these columns
        sampled.get("detail", float("nan")),
        result.get("audio_to_audio_detail", float("nan")),
        result.get("blurred_detail", float("nan")),
    ]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Image->audio errors under the independent audio judge, {results['rows']} test rows per "
        "run, one drawn code per row decoded to text and audio (see benchmarks/audio_errors.py).",
        "",
        "| run | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for label, result in results["runs"].items():
        lines.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in row(result)) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = run_arguments(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = labelled_runs(parser, args)
    torch.set_num_threads(1)
    judge = judge_for("avmnist")
    results: dict[str, Any] = {"rows": args.rows, "seed": args.seed, "runs": {}}
    for label, path in runs:
        print(f"== {label}", flush=True)
        results["runs"][label] = diagnose(path, judge, rows=args.rows, seed=args.seed)
    write_results(results, RESULTS / f"audio-errors-{args.tag}.json", markdown(results))


if __name__ == "__main__":
    main()
