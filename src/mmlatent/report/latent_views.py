"""The report's interpretability views: latent traversals and interpolations, as grids.

Each grid has one row per modality and one column per step, so a row reads left to right as the
code moves. The codes come from :mod:`mmlatent.evaluation.interpret`; this module only decodes
and renders them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.interpret import (
    code_of,
    interpolation_codes,
    latent_statistics,
    traversal_codes,
    traversal_values,
)
from mmlatent.evaluation.runtime import model_device
from mmlatent.models.base import GenerativeModel
from mmlatent.report.gallery import Example, Grid, label_caption
from mmlatent.report.render import render


def decoded_rows(
    model: GenerativeModel, data: MultimodalData, codes: Tensor, names: Sequence[str]
) -> list[Example]:
    """Decode ``codes`` (S, D) into every modality of ``names``: one row per modality."""
    out = model.generate(latent=codes.to(model_device(model)), targets=list(names))
    return [Example(m, [], render(data.modalities[m], out[m]), []) for m in names]


def traversal_grids(
    model: GenerativeModel, data: MultimodalData, dims: Sequence[int], *, steps: int
) -> list[Grid]:
    """Per dimension: the mean test code with that dimension swept over ± 3 of its std."""
    names = [m for m in model.modalities if m in data.modalities]
    mean, std = latent_statistics(model, data)
    grids = []
    for d in dims:
        values = traversal_values(float(mean[d]), float(std[d]), steps)
        codes = traversal_codes(mean, d, values)  # (S, D)
        labels = [f"z{d} = {v:+.2f}" for v in values]
        rows = decoded_rows(model, data, codes, names)
        grids.append(Grid(f"dimension {d}", f"traverse-{d}", [], labels, rows))
    return grids


def interpolation_grid(
    model: GenerativeModel,
    data: MultimodalData,
    start: tuple[int, Sequence[str]],
    end: tuple[int, Sequence[str]],
    *,
    steps: int,
) -> Grid:
    """From the code of test row ``start[0]`` given ``start[1]`` to that of ``end``, decoded."""
    names = [m for m in model.modalities if m in data.modalities]
    codes = []
    for row, given in (start, end):
        codes.append(code_of(model, {m: data.tensors[m][row : row + 1] for m in given}))
    path = interpolation_codes(codes[0], codes[1], steps)  # (S, D)
    labels = [f"t = {t:.2f}" for t in torch.linspace(0, 1, steps).tolist()]
    title = (
        f"{label_caption(data, start[0])} given {' + '.join(start[1])} → "
        f"{label_caption(data, end[0])} given {' + '.join(end[1])}"
    )
    return Grid(title, "interpolation", [], labels, decoded_rows(model, data, path, names))


def interpolation_pairs(
    data: MultimodalData, rows: Tensor, names: Sequence[str]
) -> list[tuple[tuple[int, list[str]], tuple[int, list[str]]]]:
    """Two endpoint pairs for the report: all modalities of one row to all of another with a
    different label, and the first modality of the first to the last modality of the second."""
    if len(rows) < 2:
        return []
    first = int(rows[0])
    others = [int(r) for r in rows[1:] if int(data.labels[r]) != int(data.labels[first])]
    second = others[0] if others else int(rows[1])
    pairs = [((first, list(names)), (second, list(names)))]
    if len(names) > 1:
        pairs.append(((first, [names[0]]), (second, [names[-1]])))
    return pairs
