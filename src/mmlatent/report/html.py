"""``write_report``: one self-contained ``report.html`` for a trained model on its data set."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import Tensor

from mmlatent.atomic import atomic_write_text
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.interpret import ActivityResult
from mmlatent.evaluation.runtime import inference
from mmlatent.models.base import GenerativeModel
from mmlatent.report import gallery, latent_views, plots
from mmlatent.report.media import data_uri, figure_png
from mmlatent.report.metrics_table import (
    coherence_rows,
    likelihood_rows,
    other_rows,
    probe_rows,
    reconstruction_rows,
    second_judge_rows,
)
from mmlatent.report.pages import template
from mmlatent.report.render import render
from mmlatent.report.sampler_table import sampler_table
from mmlatent.run import PROGRESS_DIR


def write_report(
    *,
    model: GenerativeModel,
    data: MultimodalData,
    metrics: dict[str, Any],
    out_dir: Path,
    history_csv: Path | None = None,
    n_examples: int = 8,
    seed: int = 0,
    latent_points: int = 1000,
    latent_sampler: Callable[[int], Tensor] | None = None,
    sampler_name: str = "prior",
    latent_map: str = "auto",
    traversal_steps: int = 7,
    traversal_dims: int = 4,
) -> Path:
    """Render ``out_dir/report.html`` and return its path.

    ``metrics`` is ``EvaluationResult.to_dict()`` (further keys are listed as they come);
    ``history_csv`` is Lightning's ``metrics.csv``; ``latent_points`` caps the t-SNE map;
    ``latent_sampler(n) -> z`` (named ``sampler_name``) draws the unconditional samples, the
    prior when None; ``latent_map`` picks the map's projection (``tsne``, ``pca``, ``auto``);
    the ``traversal_dims`` most active dimensions are traversed in ``traversal_steps`` steps.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with inference(model, seed):
        context = _context(model, data, metrics, history_csv, n_examples, seed, latent_points)
        context |= _latent_views(
            model, data, metrics, seed=seed, limit=latent_points, latent_map=latent_map,
            steps=traversal_steps, n_dims=traversal_dims,
        )  # fmt: skip
        context["unconditional"] = (
            gallery.unconditional_samples(model, data, n_examples, latent_sampler=latent_sampler)
            if model.capabilities.unconditional
            else None
        )
        context["progress"] = gallery.training_progress(out_dir / PROGRESS_DIR)
        context["sampler_name"] = sampler_name if latent_sampler is not None else "prior"
    path = out_dir / "report.html"
    atomic_write_text(path, template("report.html").render(**context))
    return path


def _context(
    model: GenerativeModel,
    data: MultimodalData,
    metrics: dict[str, Any],
    history_csv: Path | None,
    n_examples: int,
    seed: int,
    latent_points: int,
) -> dict[str, Any]:
    names = [m for m in model.modalities if m in data.modalities]
    rows = gallery.example_rows(data, names, n_examples, seed=seed)
    real = (
        {m: render(data.modalities[m], data.tensors[m][rows]) for m in names} if len(rows) else {}
    )
    can = model.capabilities
    return {
        "title": f"{type(model).__name__} on {data.name}",
        "model_name": getattr(model, "registry_name", "") or type(model).__name__,
        "model_about": f"{can.family}, "
        + (f"{can.fusion} fusion" if can.multimodal else f"one modality ({names[0]})")
        + f", {_objective(model)} ({can.paper})",
        "data": data,
        "modalities": names,
        "created": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "notes": metrics.get("notes") or [],
        "coherence_rows": coherence_rows(metrics),
        "reconstruction_rows": reconstruction_rows(metrics),
        "other_rows": other_rows(metrics),
        "sampler_table": sampler_table(metrics),
        "grids": gallery.cross_modal_grids(model, data, rows, real)
        if real and len(names) > 1
        else [],
        "reconstructions": gallery.reconstructions(model, data, rows, real)
        if real and can.encodes
        else None,
        "loss_curves": _loss_curves(history_csv),
        "second_judge_rows": second_judge_rows(metrics),
        "probe_rows": probe_rows(metrics),
        "likelihood_rows": likelihood_rows(metrics),
        "likelihood_k": (metrics.get("likelihood") or {}).get("k"),
    }


def _latent_views(
    model: GenerativeModel,
    data: MultimodalData,
    metrics: dict[str, Any],
    *,
    seed: int,
    limit: int,
    latent_map: str,
    steps: int,
    n_dims: int,
) -> dict[str, Any]:
    """Latent maps, dimension activity, traversals of the most active dimensions, interpolations."""
    views: dict[str, Any] = {"latent_maps": [], "activity": None, "n_active": ""}
    views |= {"traversals": [], "interpolations": []}
    if not model.capabilities.encodes:
        return views
    methods = ["tsne", "pca"] if latent_map == "auto" else [latent_map]
    views["latent_maps"] = _latent_maps(model, data, limit, seed, methods)
    activity = ActivityResult.from_dict(metrics["activity"]) if metrics.get("activity") else None
    if activity and activity.variance:
        fig = plots.activity_figure(activity.variance, activity.kl, activity.threshold)
        views["activity"] = data_uri(figure_png(fig), "image/png")
        views["n_active"] = f"{activity.n_active} of {len(activity.variance)}"
    dims = activity.ranked()[:n_dims] if activity else list(range(min(n_dims, model.latent_dim)))
    names = [m for m in model.modalities if m in data.modalities]
    views["traversals"] = latent_views.traversal_grids(model, data, dims, steps=steps)
    rows = gallery.example_rows(data, names, 16, seed=seed)
    views["interpolations"] = [
        latent_views.interpolation_grid(model, data, a, b, steps=steps)
        for a, b in latent_views.interpolation_pairs(data, rows, names)
    ]
    return views


def _objective(model: GenerativeModel) -> str:
    """The model's latent loss, or a GAN's objective."""
    if hasattr(model.config, "latent_loss"):
        return f"latent loss {model.config.latent_loss}"
    return f"{getattr(model.config, 'loss', 'n/a')} objective"


def _loss_curves(history_csv: Path | None) -> str | None:
    if history_csv is None or not Path(history_csv).exists():
        return None
    curves = plots.read_loss_columns(Path(history_csv))
    return data_uri(figure_png(plots.loss_figure(curves)), "image/png") if curves else None


def _latent_maps(
    model: GenerativeModel, data: MultimodalData, limit: int, seed: int, methods: list[str]
) -> list[str]:
    codes, labels = gallery.latent_codes(model, data, limit=limit, seed=seed)
    if len(codes) < 3:
        return []
    maps = {}
    for method in methods:
        points, name = plots.project_2d(codes.numpy(), seed=seed, method=method)
        if name not in maps:  # "auto" may fall back to PCA for few points: draw it once
            fig = plots.latent_figure(points, labels.numpy(), data.label_names, name)
            maps[name] = data_uri(figure_png(fig), "image/png")
    return list(maps.values())
