"""A run's second stage: latent samplers fitted once to its training codes, saved in the run as
``samplers/<name>.safetensors`` and reloaded from there, never refitted behind the user's back.

``mmlatent fit-sampler`` fits (or refits) one; everything else calls :func:`get_sampler`, which
takes the in-memory copy, else the saved file, else fits and saves it and says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.registry import SAMPLERS
from mmlatent.run import Run
from mmlatent.samplers import LatentSampler, build_sampler, load_sampler

log = logging.getLogger(__name__)

SAMPLERS_DIR = "samplers"


def sampler_path(run: Run, name: str) -> Path:
    return run.path / SAMPLERS_DIR / f"{name}.safetensors"


def saved_samplers(run: Run) -> list[str]:
    """Names of the samplers saved in the run (registered ones only), sorted."""
    folder = run.path / SAMPLERS_DIR
    found = {p.stem for p in folder.glob("*.safetensors")} if folder.is_dir() else set()
    return sorted(found & set(SAMPLERS.names()))


def comparison_samplers(run: Run, own: str) -> list[str]:
    """The samplers a run's evaluation compares: the prior, the run's own, then the others saved
    in the run; only samplers that need no codes when the model has no encoder."""
    names = list(dict.fromkeys(["prior", own, *saved_samplers(run)]))
    if run.model.capabilities.encodes:
        return names
    return [n for n in names if not SAMPLERS.get(n).fitted_to_codes]


def fit_and_save_sampler(
    run: Run, data: MultimodalData | None, name: str, options: dict[str, Any] | None = None
) -> LatentSampler:
    """Fit sampler ``name`` to the run's training codes (seeded by the run's seed) and save it;
    ``data`` (the run's data set) is loaded if not given and the sampler needs codes."""
    sampler = build_sampler(name, **(options or {}))
    if not sampler.fitted_to_codes:
        codes = torch.zeros(1, run.model.latent_dim)  # the prior needs only the width
    elif not run.model.capabilities.encodes:
        raise ValueError(
            f"sampler {name!r} is fitted to the codes of the training data, but model "
            f"{run.model.registry_name!r} has no encoder; use --sampler prior"
        )
    else:
        if data is None:
            from mmlatent.workflows import load_run_data

            data = load_run_data(run)
        codes = train_codes(run, data)
    sampler.fit(codes, generator=torch.Generator().manual_seed(run.config.seed))
    sampler.bind_model(run.model)
    path = sampler.save(sampler_path(run, name))
    run.samplers[name] = sampler
    log.info("fitted sampler %s to %d codes, saved as %s %s", name, len(codes), path, sampler.info)
    return sampler


def get_sampler(
    run: Run, data: MultimodalData | None, name: str, options: dict[str, Any] | None = None
) -> LatentSampler:
    """The run's sampler ``name``: from memory, else from its file, else fitted and saved.

    ``options`` that differ from those the saved sampler was fitted with are an error (refit
    explicitly with ``mmlatent fit-sampler``) rather than a silent refit or a silent mismatch.
    """
    sampler = run.samplers.get(name)
    path = sampler_path(run, name)
    if sampler is None and path.is_file():
        sampler = run.samplers[name] = load_sampler(path)
        sampler.bind_model(run.model)
    if sampler is None:
        log.info("no saved %s sampler in %s: fitting it now", name, run.path)
        return fit_and_save_sampler(run, data, name, options)
    wanted = vars(build_sampler(name, **(options or {})).options)
    if options and wanted != vars(sampler.options):
        raise ValueError(
            f"the {name} sampler saved in {run.path} was fitted with {vars(sampler.options)}, "
            f"not {wanted}; refit it with `mmlatent fit-sampler {run.path} --sampler {name} "
            "--set KEY=VALUE ...`"
        )
    return sampler


@torch.no_grad()
def train_codes(run: Run, data: MultimodalData, chunk: int = 1024) -> torch.Tensor:
    """Posterior means of the training rows that hold at least one of the model's modalities."""
    names = [m for m in run.model.modalities if m in data.masks]
    batch = data.batch(data.rows_with_any("train", names))
    run.model.eval()
    codes = []
    for start in range(0, len(batch["label"]), chunk):
        rows = {k: v[start : start + chunk] for k, v in batch["data"].items()}
        masks = {k: v[start : start + chunk] for k, v in batch["mask"].items()}
        codes.append(run.model.embed(rows, masks))
    return torch.cat(codes)  # (N_train, D)
