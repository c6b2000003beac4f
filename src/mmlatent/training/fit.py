"""Fit a run: data -> model -> Lightning training -> best weights saved as safetensors.

A run that was stopped (SIGTERM, SIGINT, ``kill -9``) continues from its resumable checkpoint
with :func:`resume`, and reaches the weights it would have reached uninterrupted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch

from mmlatent.config import RunConfig
from mmlatent.data.datamodule import MultimodalDataModule
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData, drop_at_random
from mmlatent.models import build_model
from mmlatent.models.base import GenerativeModel
from mmlatent.run import (
    CONFIG_FILE,
    RESUME_CHECKPOINT,
    WEIGHTS_FILE,
    Run,
    RunError,
    read_modalities,
    run_data,
)
from mmlatent.training.resume import CheckpointError, put_back, read_checkpoint, rows_before
from mmlatent.training.systems import build_system
from mmlatent.training.trainer import LOG_CSV, build_trainer

log = logging.getLogger(__name__)


def fit(
    config: RunConfig,
    run_dir: str | Path,
    *,
    data: MultimodalData | None = None,
    resume_from: Path | None = None,
) -> Run:
    """Train ``config`` into ``run_dir`` and return the loaded run (best validation weights).

    ``resume_from`` (a checkpoint already checked by :func:`read_checkpoint`) continues a
    stopped run instead of starting one; :func:`resume` is the way in.
    """
    run_dir = Path(run_dir)
    if resume_from is None and (run_dir / CONFIG_FILE).exists():
        raise FileExistsError(
            f"{run_dir} already holds a run; choose another --out, or delete it to train again"
        )
    L.seed_everything(config.seed, workers=True, verbose=False)
    if data is None:
        data = load_dataset(config.data.name, **config.data.options)
    if config.data.missing:
        data = drop_at_random(data, config.data.missing, seed=config.seed)
    model = build_model(config.model.name, data.specs, config.model.options)
    _check_rows_fit_model(model, data)
    run = Run(path=run_dir, config=config, model=model, modalities=data.modalities)
    module = build_system(model, config.train)
    datamodule = MultimodalDataModule(
        data,
        batch_size=config.data.batch_size,
        num_workers=config.data.num_workers,
        seed=config.seed,
    )
    has_val = len(data.splits["val"]) > 0
    trainer = build_trainer(
        config.train, run_dir, has_validation=has_val, system=module, seed=config.seed
    )
    if trainer.is_global_zero and resume_from is None:
        run.save_metadata()
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    _load_best(trainer, model)
    if trainer.is_global_zero:
        run.save()
        (run_dir / RESUME_CHECKPOINT).unlink(missing_ok=True)  # finished: nothing to resume
    return run


def resume(run_dir: str | Path, *, data: MultimodalData | None = None) -> Run:
    """Continue a stopped run from ``checkpoints/resume.ckpt``, with its saved config.

    The checkpoint restores weights, optimiser, scheduler, random generators, epoch, place in
    the epoch and early-stopping state; it is read with ``weights_only=True`` and refused if it
    holds anything else.
    """
    run_dir = Path(run_dir)
    if (run_dir / WEIGHTS_FILE).is_file():
        raise FileExistsError(f"{run_dir} has finished already ({WEIGHTS_FILE} is there)")
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunError(f"{run_dir} holds no {CONFIG_FILE}: not a run started by `mmlatent fit`")
    checkpoint = run_dir / RESUME_CHECKPOINT
    if not checkpoint.is_file():
        raise CheckpointError(
            f"{checkpoint} is missing: the run stopped before its first checkpoint; start it "
            f"again with `mmlatent fit --config {run_dir / CONFIG_FILE} --out NEW_DIR`"
        )
    state = read_checkpoint(checkpoint)
    log.info("resuming %s from epoch %d, step %d", run_dir, state["epoch"], state["global_step"])
    config = RunConfig.from_yaml(run_dir / CONFIG_FILE)
    history = run_dir / LOG_CSV
    earlier = rows_before(history, int(state["global_step"]))
    if data is None:  # in the shapes the run started with, whatever today's defaults
        data = run_data(run_dir, config, read_modalities(run_dir))
    try:
        return fit(config, run_dir, data=data, resume_from=checkpoint)
    finally:
        put_back(history, earlier)


def _check_rows_fit_model(model: GenerativeModel, data: MultimodalData) -> None:
    """A model that cannot train on incomplete rows refuses data that has them, by name, before
    training: in the validation rows too, which its loss scores each epoch. (Evaluation scores
    complete test rows only, so the test split may have holes.)"""
    if model.capabilities.trains_on_incomplete_rows:
        return
    for split, rows in (("train", "training"), ("val", "validation")):
        index = data.splits[split]
        incomplete = {m: int((~data.masks[m][index]).sum()) for m in model.modalities}
        worst = max(incomplete, key=lambda m: incomplete[m])
        if incomplete[worst]:
            raise ValueError(
                f"model {model.registry_name!r} trains on complete rows only, but "
                f"{incomplete[worst]} {rows} rows lack {worst!r}; choose a model that trains on "
                "incomplete rows (`mmlatent models` lists them)"
            )


def _load_best(trainer: L.Trainer, model: torch.nn.Module) -> None:
    """Copy the best checkpoint's weights into ``model`` (also the way back from ddp_spawn workers)."""
    callback = trainer.checkpoint_callback
    path = getattr(callback, "best_model_path", "") or getattr(callback, "last_model_path", "")
    if not path:
        log.warning("no checkpoint was written; keeping the weights of the last step")
        return
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    prefix = "model."
    model.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
