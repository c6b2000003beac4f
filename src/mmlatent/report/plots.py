"""Figures for the report: loss curves from the Lightning CSV log, and a 2-D map of latent codes.

Figures are built with ``matplotlib.figure.Figure`` (Agg, no pyplot), so nothing global changes.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

TSNE_MAX_POINTS = 2000
"""Beyond this many points the ``auto`` latent map uses PCA (t-SNE's cost grows quickly)."""


def read_loss_columns(csv_path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every column whose name contains ``loss`` as (x, y), x = ``step`` (or the row number).

    Lightning's CSV log writes sparse rows (train and validation on different lines), so each
    column keeps only its own non-empty, finite values.
    """
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in (rows[0].keys() if rows else []) if "loss" in c]
    curves = {}
    for column in columns:
        xs, ys = [], []
        for i, row in enumerate(rows):
            y = _number(row.get(column))
            if y is not None:
                x = _number(row.get("step"))
                xs.append(i if x is None else x)
                ys.append(y)
        if ys:
            curves[column] = (np.array(xs), np.array(ys))
    return curves


def loss_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Training curves on the left, validation (and anything else) on the right."""
    fig = Figure(figsize=(9, 3.4))
    train_ax, other_ax = fig.subplots(1, 2)
    for name, (x, y) in curves.items():
        ax = train_ax if name.startswith("train") else other_ax
        ax.plot(x, y, label=name, marker="o" if len(x) < 30 else None, markersize=3)
    for ax, title in ((train_ax, "training"), (other_ax, "validation")):
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    return fig


def project_2d(codes: np.ndarray, *, seed: int, method: str = "auto") -> tuple[np.ndarray, str]:
    """(N, D) codes -> (N, 2) and the method's name.

    ``method``: ``tsne``, ``pca``, or ``auto`` (t-SNE for 50 to ``TSNE_MAX_POINTS`` points, PCA
    otherwise: t-SNE needs enough points for its perplexity and gets slow on many).
    """
    if codes.shape[1] <= 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1]))), "raw latent"
    if method == "auto":
        method = "tsne" if 50 <= len(codes) <= TSNE_MAX_POINTS else "pca"
    if method == "pca" or len(codes) < 4:
        return PCA(2, random_state=seed).fit_transform(codes), "PCA"
    perplexity = min(30.0, (len(codes) - 1) / 3)
    tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(codes), "t-SNE"


def activity_figure(variance: list[float], kl: list[float], threshold: float) -> Figure:
    """Per latent dimension: variance of the posterior means (active above ``threshold``) and,
    when known, the average KL to the prior."""
    fig = Figure(figsize=(9, 2.8))
    axes = fig.subplots(1, 2 if kl else 1, squeeze=False)[0]
    dims = np.arange(len(variance))
    colours = ["#3056d3" if v > threshold else "#c0c6d0" for v in variance]
    axes[0].bar(dims, variance, color=colours)
    axes[0].axhline(threshold, color="#f0a020", lw=1, ls="--", label=f"active > {threshold}")
    axes[0].set_yscale("log")
    axes[0].set_title("variance of posterior means over test data")
    axes[0].legend(fontsize=7)
    if kl:
        axes[1].bar(dims, kl, color=colours)
        axes[1].set_title("average KL(q(z_d | x) || N(0, 1)), nats")
    for ax in axes:
        ax.set_xlabel("latent dimension")
        ax.grid(alpha=0.3, axis="y")
    return fig


def latent_figure(
    points: np.ndarray, labels: np.ndarray, names: list[str] | None, method: str
) -> Figure:
    """Scatter of 2-D codes coloured by label (grey where the label is unknown)."""
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    unknown = labels < 0
    if unknown.any():
        ax.scatter(points[unknown, 0], points[unknown, 1], s=6, c="lightgrey", label="unlabelled")
    for k in np.unique(labels[~unknown]):
        name = names[k] if names and k < len(names) else str(k)
        chosen = points[labels == k]  # (n_k, 2)
        ax.scatter(chosen[:, 0], chosen[:, 1], s=6, color=_colour(int(k)), label=name)
    ax.set_title(f"test-set latent codes ({method})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig


def _colour(k: int) -> tuple[float, float, float, float]:
    return colormaps["tab10" if k < 10 else "tab20"](k % 20)


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
