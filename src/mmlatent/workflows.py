"""The pipeline's steps on a run: score it, fit a latent sampler, sample, report, and the demo.

Shared by the CLI and the Python API, so both do exactly the same thing.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mmlatent.config import RunConfig
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.run import METRICS_FILE, Run
from mmlatent.samplers import LatentSampler, build_sampler

log = logging.getLogger(__name__)


def load_run_data(run: Run) -> MultimodalData:
    """The run's data set, rebuilt from its saved config (cached tensors make this fast)."""
    return load_dataset(run.config.data.name, **run.config.data.options)


def fit_sampler(
    run: Run, data: MultimodalData, name: str | None = None, **options: Any
) -> LatentSampler:
    """Fit a latent sampler to the posterior means of the training split (once per run)."""
    name = name or run.config.eval.sampler
    options = options or dict(run.config.eval.sampler_options)
    if not run.model.capabilities.encodes and name != "prior":
        raise ValueError(
            f"sampler {name!r} is fitted to the codes of the training data, but model "
            f"{run.model.registry_name!r} has no encoder; use --sampler prior"
        )
    if name == "gmm":
        options.setdefault("seed", run.config.seed)
    key = f"{name}:{json.dumps(options, sort_keys=True, default=str)}"
    if key not in run.samplers:
        # the prior needs only the codes' width: a model without an encoder gets a placeholder
        codes = (
            _train_codes(run, data)
            if run.model.capabilities.encodes
            else torch.zeros(1, run.model.latent_dim)
        )
        run.samplers[key] = build_sampler(name, **options).fit(codes)
    return run.samplers[key]


def run_sampler_name(run: Run) -> str:
    """The run's configured sampler, or the prior for a model without an encoder (nothing to fit)."""
    return run.config.eval.sampler if run.model.capabilities.encodes else "prior"


def seeded_draws(
    run: Run, data: MultimodalData, name: str | None = None, seed: int | None = None
) -> Callable[[int], torch.Tensor]:
    """``draw(n) -> z`` from the run's fitted sampler, reproducible from ``seed`` (the run's)."""
    sampler = fit_sampler(run, data, name or run_sampler_name(run))
    generator = torch.Generator().manual_seed(run.config.seed if seed is None else seed)
    return lambda n: sampler.sample(n, generator=generator)


@torch.no_grad()
def _train_codes(run: Run, data: MultimodalData) -> torch.Tensor:
    """Codes of the training rows that hold at least one of the model's modalities."""
    names = [m for m in run.model.modalities if m in data.masks]
    batch = data.batch(data.rows_with_any("train", names))
    run.model.eval()
    return torch.cat(
        [
            run.model.embed(_rows(batch["data"], i, 1024), _rows(batch["mask"], i, 1024))
            for i in range(0, len(batch["label"]), 1024)
        ]
    )  # (N_train, D)


def evaluate_run(
    run: Run, *, data: MultimodalData | None = None, cache_dir: Path | None = None
) -> dict[str, Any]:
    """Judge the run on its test split and write ``metrics.json``; returns the metrics."""
    from mmlatent.evaluation import evaluate, train_judges

    data = data or load_run_data(run)
    cfg = run.config.eval
    started = time.perf_counter()
    judges = train_judges(
        data, cache_dir=cache_dir, seed=run.config.seed, max_epochs=cfg.judge_epochs
    )
    result = evaluate(
        run.model,
        data,
        judges,
        n_unconditional=cfg.n_unconditional,
        latent_sampler=seeded_draws(run, data),
        seed=run.config.seed,
        audio_roundtrip_limit=cfg.audio_roundtrip_limit,
    )
    sampler = run_sampler_name(run)
    metrics = {**result.to_dict(), "sampler": sampler}
    if sampler != "prior" and result.joint_coherence is not None:
        # The prior's figure too, so a fitted sampler's gain is visible rather than assumed.
        metrics["joint_coherence_by_sampler"] = {
            "prior": _prior_joint_coherence(run, judges, cfg.n_unconditional),
            sampler: result.joint_coherence,
        }
    metrics["evaluation_seconds"] = time.perf_counter() - started
    (run.path / METRICS_FILE).write_text(json.dumps(metrics, indent=2, default=float))
    return metrics


def _prior_joint_coherence(run: Run, judges: dict, n: int) -> float | None:
    from mmlatent.evaluation.coherence import joint_coherence
    from mmlatent.evaluation.runtime import inference

    with inference(run.model, run.config.seed):
        return joint_coherence(run.model, judges, n=n, batch_size=256)


def report_run(run: Run, *, data: MultimodalData | None = None, n_examples: int = 8) -> Path:
    """Write ``report.html`` beside the run (scores it first if ``metrics.json`` is missing)."""
    from mmlatent.report import write_report

    data = data or load_run_data(run)
    metrics = run.metrics() or evaluate_run(run, data=data)
    history = run.path / "logs" / "metrics.csv"
    return write_report(
        model=run.model,
        data=data,
        metrics=metrics,
        out_dir=run.path,
        history_csv=history if history.is_file() else None,
        n_examples=n_examples,
        seed=run.config.seed,
        latent_sampler=seeded_draws(run, data),
        sampler_name=run_sampler_name(run),
    )


def sample_run(
    run: Run,
    *,
    n: int,
    out_dir: Path,
    sampler: str | None = None,
    seed: int = 0,
    data: MultimodalData | None = None,
) -> list[Path]:
    """Unconditional samples of every modality together, written as files."""
    latent = None
    if sampler and sampler != "prior":
        latent = seeded_draws(run, data or load_run_data(run), sampler, seed)(n)
    outputs = run.generate(n=n, latent=latent, seed=seed)
    return run.write_outputs(outputs, out_dir)


# Sized to finish within 5 minutes on 2 CPU cores from empty caches (data, judges included).
DEMO_OVERRIDES = [
    "train.max_epochs=16",
    "eval.n_unconditional=500",
    "eval.audio_roundtrip_limit=100",
]


def demo(out_dir: Path, overrides: list[str] | None = None) -> Path:
    """fit -> sample -> evaluate -> report on the embedded ``digits`` data; returns the report path."""
    from mmlatent.training.fit import fit

    config = RunConfig().with_overrides(DEMO_OVERRIDES + list(overrides or []))
    if (out_dir / "config.yaml").is_file():  # the previous demo's run: `make demo` starts afresh
        shutil.rmtree(out_dir)
    data = load_dataset(config.data.name, **config.data.options)
    run = fit(config, out_dir, data=data)
    samples = out_dir / "samples"
    sample_run(run, n=16, out_dir=samples, sampler=config.eval.sampler, seed=config.seed, data=data)
    evaluate_run(run, data=data)
    return report_run(run, data=data)


def _rows(d: dict[str, torch.Tensor], start: int, size: int) -> dict[str, torch.Tensor]:
    return {k: v[start : start + size] for k, v in d.items()}
