"""What the model makes, laid out for the page: cross-modal grids, free samples, reconstructions.

Each function generates once per batch and renders through :mod:`mmlatent.report.render`; real
samples are rendered once and shared by every grid (Griffin-Lim is the slow part).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.coherence import direction_key
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel
from mmlatent.report.media import data_uri
from mmlatent.report.render import Item, render


@dataclass
class Example:
    """One row of a grid: what went in, what came out, what the truth looks like."""

    caption: str
    inputs: list[Item]
    outputs: list[Item]
    truth: list[Item]


@dataclass
class Grid:
    title: str
    key: str
    """``direction_key`` of a cross-modal grid (``"image+text->audio"``), else the section name."""
    inputs: list[str]
    outputs: list[str]
    examples: list[Example]

    @property
    def anchor(self) -> str:
        """An HTML id: ``"image+text->audio"`` -> ``"image-text-to-audio"``."""
        return self.key.replace("->", "-to-").replace("+", "-")


def directions(modalities: Sequence[str]) -> list[tuple[tuple[str, ...], str]]:
    """Each single source -> each other modality, then all the others -> each (no duplicates)."""
    pairs: list[tuple[tuple[str, ...], str]] = [
        ((s,), t) for s in modalities for t in modalities if s != t
    ]
    for t in modalities:
        rest = tuple(m for m in modalities if m != t)
        if len(rest) > 1:
            pairs.append((rest, t))
    return pairs


def example_rows(data: MultimodalData, modalities: Sequence[str], n: int, *, seed: int) -> Tensor:
    """``n`` seeded test rows with every modality present (labelled or not), in a fixed order."""
    idx = data.splits["test"]
    keep = torch.ones(len(idx), dtype=torch.bool)
    for m in modalities:
        keep &= data.masks[m][idx]
    idx = idx[keep]
    order = torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))
    return idx[order[:n]].sort().values


def label_caption(data: MultimodalData, row: int) -> str:
    label = int(data.labels[row])
    if label < 0:
        return f"test #{row}"
    name = data.label_names[label] if data.label_names else str(label)
    return f"test #{row} · {name}"


def cross_modal_grids(
    model: GenerativeModel, data: MultimodalData, rows: Tensor, real: dict[str, list[Item]]
) -> list[Grid]:
    """A grid per direction over the same example ``rows``; ``real`` = rendered rows per modality."""
    device = model_device(model)
    grids = []
    served = set(model.directions())
    for sources, target in (d for d in directions(list(real)) if d in served):
        given = {m: data.tensors[m][rows].to(device) for m in sources}
        out = model.generate(given=given, targets=[target])
        generated = render(data.modalities[target], out[target])
        examples = [
            Example(
                caption=label_caption(data, int(row)),
                inputs=[real[m][i] for m in sources],
                outputs=[generated[i]],
                truth=[real[target][i]],
            )
            for i, row in enumerate(rows)
        ]
        title = f"{' + '.join(sources)} → {target}"
        grids.append(Grid(title, direction_key(sources, target), list(sources), [target], examples))
    return grids


def unconditional_samples(
    model: GenerativeModel,
    data: MultimodalData,
    n: int,
    *,
    latent_sampler: Callable[[int], Tensor] | None = None,
) -> Grid:
    """``n`` unconditional samples (prior, or ``latent_sampler``), every modality side by side."""
    names = [m for m in model.modalities if m in data.modalities]
    if latent_sampler is None:
        out = model.generate(n, targets=names)
    else:
        out = model.generate(latent=latent_sampler(n).to(model_device(model)), targets=names)
    items = {m: render(data.modalities[m], out[m]) for m in names}
    examples = [Example(f"sample {i + 1}", [], [items[m][i] for m in names], []) for i in range(n)]
    return Grid("unconditional samples", "unconditional", [], names, examples)


def reconstructions(
    model: GenerativeModel, data: MultimodalData, rows: Tensor, real: dict[str, list[Item]]
) -> Grid:
    """Every modality given, every modality decoded from the posterior mean."""
    names = list(real)
    device = model_device(model)
    given = {m: data.tensors[m][rows].to(device) for m in names}
    out = model.generate(given=given, targets=names, temperature=0)
    items = {m: render(data.modalities[m], out[m]) for m in names}
    examples = [
        Example(
            label_caption(data, int(row)),
            [real[m][i] for m in names],
            [items[m][i] for m in names],
            [],
        )
        for i, row in enumerate(rows)
    ]
    return Grid("reconstructions", "reconstruction", names, names, examples)


def latent_codes(
    model: GenerativeModel, data: MultimodalData, *, limit: int, seed: int
) -> tuple[Tensor, Tensor]:
    """Posterior means of up to ``limit`` seeded test rows (labelled first), and their labels."""
    names = [m for m in model.modalities if m in data.modalities]
    rows = data.rows_with_any("test", names)
    labelled = rows[data.labels[rows] >= 0]
    rows = labelled if len(labelled) else rows
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
    rows = rows[order[:limit]]
    device = model_device(model)
    batch = data.batch(rows)
    codes = model.embed(
        {m: batch["data"][m].to(device) for m in names},
        {m: batch["mask"][m].to(device) for m in names},
    )
    return codes.cpu(), batch["label"]


def training_progress(folder: Path, *, shown: int = 6) -> list[dict[str, str]]:
    """Up to ``shown`` epochs' sample grids per modality from ``folder`` (first and last epoch
    always, the rest evenly between), as ``{"image": data URI, "caption": ...}``."""
    pictures: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("epoch-*.png")) if folder.is_dir() else []:
        modality = path.stem.split("-", 2)[2]  # epoch-003-image -> image
        pictures.setdefault(modality, []).append(path)
    out = []
    for modality, paths in pictures.items():
        picks = sorted({round(i * (len(paths) - 1) / max(1, shown - 1)) for i in range(shown)})
        for path in (paths[i] for i in picks):
            epoch = int(path.stem.split("-")[1])
            out.append(
                {
                    "image": data_uri(path.read_bytes(), "image/png"),
                    "caption": f"{modality}, after epoch {epoch}",
                }
            )
    return out
