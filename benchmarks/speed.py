"""Lightning's overhead: one MoPoE training epoch through its training system vs a bare PyTorch loop.

Same model architecture and initial weights, same in-memory data and batch size, one process,
interleaved repetitions (so drift in machine load hits both alike). Reports medians and the ratio
(goal: <= 1.3x) to benchmarks/results/speed.json, with the operator launches and host syncs of one
training step (forward, backward, optimiser), counted by torch.profiler: a measure of per-step
overhead that machine load does not blur.

    python benchmarks/speed.py [--repeats 5] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from pathlib import Path

import lightning as L
import torch
from torch.profiler import ProfilerActivity, profile

from mmlatent.config import DataConfig, TrainConfig
from mmlatent.data.datamodule import MultimodalDataModule
from mmlatent.data.datasets import load_dataset
from mmlatent.models import build_model
from mmlatent.training.systems import build_system

RESULTS = Path(__file__).parent / "results" / "speed.json"


class EpochTimer(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.started


def lightning_epoch(model, datamodule) -> float:
    timer = EpochTimer()
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(build_system(model, TrainConfig(lr_schedule="constant")), datamodule=datamodule)
    return timer.seconds


def bare_epoch(model, optimizer, loader) -> float:
    model.train()
    started = time.perf_counter()
    for batch in loader:
        loss = model.loss(batch["data"], batch["mask"]).total
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


SYNC_OPS = ("aten::_local_scalar_dense", "aten::nonzero", "aten::is_nonzero")
"""Operators that wait for the device's result on the host (``.item()``, boolean indexing, ``if t``)."""


def operator_counts(model, optimizer, batch) -> dict[str, dict[str, int]]:
    """aten operators launched and host syncs, per phase of one training step."""
    counts = {}
    loss = None

    def forward():
        nonlocal loss
        loss = model.loss(batch["data"], batch["mask"]).total

    def backward():
        optimizer.zero_grad(set_to_none=True)
        loss.backward()

    for phase, run in (("forward", forward), ("backward", backward), ("optimizer", optimizer.step)):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run()
        names = [e.name for e in prof.events()]
        counts[phase] = {
            "operators": sum(n.startswith("aten::") for n in names),
            "host_syncs": sum(n in SYNC_OPS for n in names),
        }
    counts["step"] = {k: sum(c[k] for c in counts.values()) for k in ("operators", "host_syncs")}
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=DataConfig().batch_size)
    args = parser.parse_args()

    torch.manual_seed(0)
    data = load_dataset("digits")
    datamodule = MultimodalDataModule(data, batch_size=args.batch_size)
    datamodule.setup("fit")
    lightning_model = build_model("mopoe", data.specs, {})
    bare_model = copy.deepcopy(lightning_model)
    optimizer = torch.optim.Adam(bare_model.parameters(), lr=1e-3)
    loader = datamodule.train_dataloader()

    bare_epoch(bare_model, optimizer, loader)  # warm-up: allocator, kernels, first-call caches
    lightning_epoch(lightning_model, datamodule)
    times: dict[str, list[float]] = {"lightning": [], "bare": []}
    for _ in range(args.repeats):
        times["lightning"].append(lightning_epoch(lightning_model, datamodule))
        times["bare"].append(bare_epoch(bare_model, optimizer, loader))
    medians = {k: statistics.median(v) for k, v in times.items()}
    # The same optimiser as the training system's, so the counts are those of a real step.
    system_optimizer = build_system(
        bare_model, TrainConfig(lr_schedule="constant")
    ).configure_optimizers()
    counts = operator_counts(bare_model, system_optimizer, next(iter(loader)))
    result = {
        "benchmark": "mopoe training epoch, digits train split",
        "train_samples": len(data.splits["train"]),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "seconds": times,
        "median_seconds": medians,
        "ratio_lightning_over_bare": medians["lightning"] / medians["bare"],
        "per_step": counts,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.platform(),
        "torch": torch.__version__,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(
        json.dumps(
            {k: result[k] for k in ("median_seconds", "ratio_lightning_over_bare", "per_step")},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
