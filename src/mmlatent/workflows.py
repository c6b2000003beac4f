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

from mmlatent.atomic import atomic_write_text
from mmlatent.config import RunConfig
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.registry import SAMPLERS
from mmlatent.run import METRICS_FILE, Run, run_data
from mmlatent.samplers import LatentSampler

log = logging.getLogger(__name__)


def load_run_data(run: Run) -> MultimodalData:
    """The run's data set, rebuilt from its saved config (cached tensors make this fast) in the
    shapes the run was trained on."""
    return run_data(run.path, run.config, run.modalities)


def fit_sampler(
    run: Run, data: MultimodalData | None, name: str | None = None, **options: Any
) -> LatentSampler:
    """The run's latent sampler ``name``: loaded from the run if saved there, else fitted to the
    posterior means of the training split and saved (see :mod:`mmlatent.run_samplers`)."""
    from mmlatent.run_samplers import get_sampler

    name = name or run.config.eval.sampler
    if not options and name == run.config.eval.sampler:
        options = dict(run.config.eval.sampler_options)
    return get_sampler(run, data, name, options)


def run_sampler_name(run: Run) -> str:
    """The run's configured sampler, or the prior for a model without an encoder (nothing to fit)."""
    return run.config.eval.sampler if run.model.capabilities.encodes else "prior"


def seeded_draws(
    run: Run,
    data: MultimodalData | None,
    name: str | None = None,
    seed: int | None = None,
    temperature: float = 1.0,
) -> Callable[[int], torch.Tensor]:
    """``draw(n) -> z`` from the run's fitted sampler, reproducible from ``seed`` (the run's),
    tempered by ``temperature`` (``LatentSampler.sample``)."""
    sampler = fit_sampler(run, data, name or run_sampler_name(run))
    generator = torch.Generator().manual_seed(run.config.seed if seed is None else seed)
    return lambda n: sampler.sample(n, generator=generator, temperature=temperature)


def evaluate_run(
    run: Run, *, data: MultimodalData | None = None, cache_dir: Path | None = None
) -> dict[str, Any]:
    """Judge the run on its test split and write ``metrics.json``; returns the metrics."""
    from mmlatent.evaluation import evaluate, train_judges
    from mmlatent.evaluation.second_judges import train_second_judges

    data = data or load_run_data(run)
    cfg = run.config.eval
    started = time.perf_counter()
    judges = train_judges(
        data, cache_dir=cache_dir, seed=run.config.seed, max_epochs=cfg.judge_epochs
    )
    second_started = time.perf_counter()
    second = train_second_judges(data, seed=run.config.seed) if cfg.second_judges else None
    second_seconds = time.perf_counter() - second_started
    result = evaluate(
        run.model,
        data,
        judges,
        batch_size=cfg.batch_size,
        n_unconditional=cfg.n_unconditional,
        latent_sampler=seeded_draws(run, data),
        seed=run.config.seed,
        audio_roundtrip_limit=cfg.audio_roundtrip_limit,
        second_judges=second,
        probe=cfg.probe,
        probe_max_train=cfg.probe_max_train,
        likelihood_k=cfg.likelihood_k,
        likelihood_rows=cfg.likelihood_rows,
    )
    if second is not None:
        result.timings["second_judge_training"] = second_seconds
    result.sampler = run_sampler_name(run)
    if judges and run.model.capabilities.unconditional:
        # Every sampler the run has (the prior's too, so a fitted sampler's gain is visible
        # rather than assumed): joint coherence, FID, KID, ... from the same samples.
        samplers_started = time.perf_counter()
        result.samplers = compare_run_samplers(run, data, judges, second_judges=second)
        result.joint_coherence_by_sampler = {
            name: scores["joint_coherence"] for name, scores in result.samplers.items()
        }
        result.timings["samplers"] = time.perf_counter() - samplers_started
    result.evaluation_seconds = time.perf_counter() - started
    metrics = result.to_dict()
    atomic_write_text(run.path / METRICS_FILE, json.dumps(metrics, indent=2, default=float))
    return metrics


def compare_run_samplers(
    run: Run, data: MultimodalData, judges: dict, *, second_judges: dict | None = None
) -> dict[str, Any]:
    """The sampler table: the prior, the run's own sampler and every other one saved in the run
    (fitting a neural sampler is left to ``mmlatent fit-sampler``), on ``eval.fidelity_samples``
    samples each; the second judges, when given, score the same samples."""
    from mmlatent.evaluation.sampler_comparison import compare_samplers
    from mmlatent.run_samplers import comparison_samplers

    names = comparison_samplers(run, run_sampler_name(run))
    draws = {name: seeded_draws(run, data, name) for name in names}
    return compare_samplers(
        run.model, data, judges, draws,
        n=run.config.eval.fidelity_samples, batch_size=run.config.eval.batch_size,
        seed=run.config.seed, second_judges=second_judges,
    )  # fmt: skip


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
        latent_map=run.config.eval.latent_map,
        traversal_steps=run.config.eval.traversal_steps,
        traversal_dims=run.config.eval.traversal_dims,
    )


def sample_run(
    run: Run,
    *,
    n: int,
    out_dir: Path,
    sampler: str | None = None,
    seed: int = 0,
    data: MultimodalData | None = None,
    temperature: float = 1.0,
) -> list[Path]:
    """Unconditional samples of every modality together, written as files."""
    outputs = unconditional_outputs(
        run, n=n, sampler=sampler, seed=seed, data=data, temperature=temperature
    )
    return run.write_outputs(outputs, out_dir)


def unconditional_outputs(
    run: Run,
    *,
    n: int,
    sampler: str | None = None,
    seed: int = 0,
    data: MultimodalData | None = None,
    temperature: float = 1.0,
) -> dict[str, list[Any]]:
    """``n`` unconditional samples of every modality (``Run.generate``'s raw outputs) from
    ``sampler`` (default: the run's); ``temperature`` tempers its draws (1: the fitted density,
    lower: more typical, less varied)."""
    name = sampler or run_sampler_name(run)
    if not SAMPLERS.get(name).fitted_to_codes:  # the model's own prior, drawn by generate
        return run.generate(n=n, seed=seed, temperature=temperature)
    latent = seeded_draws(run, data, name, seed, temperature)(n)
    return run.generate(latent=latent, seed=seed)


# Sized to finish within 5 minutes on 2 CPU cores from empty caches (data, judges included).
DEMO_OVERRIDES = [
    "train.max_epochs=16",
    "eval.n_unconditional=500",
    "eval.fidelity_samples=500",
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
