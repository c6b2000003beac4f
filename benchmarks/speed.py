"""Training speed of the default MoPoE on CPU, and what a step costs in operator launches.

- ``digits``: one epoch through the Lightning training system against a bare PyTorch loop (same
  architecture, initial weights, in-memory data and batch size; interleaved repetitions, so drift
  in machine load hits both alike), with medians and their ratio (goal: <= 1.3x).
- ``--avmnist``: samples/s of a bare loop on AV-MNIST rows (10,000 training images paired with
  FSDD clips, 9,000 of them trained on, batch 128), the figure MultiVae's MoPoE is compared on.
- Per step (forward, backward, optimiser, after a warm-up step): aten operators launched and host
  syncs, counted by torch.profiler; a measure of per-step overhead that machine load does not blur.
- ``--compile``: the same timings and counts with ``train.compile`` (the loss through
  torch.compile), compilation itself timed apart.

Every time is given as wall seconds and as the process's CPU seconds (all threads), beside the
load average, since this runs on shared machines. Writes benchmarks/results/speed.json.

    python benchmarks/speed.py [--avmnist] [--compile] [--repeats 5] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.profiler import ProfilerActivity, profile

from mmlatent.config import DataConfig, TrainConfig
from mmlatent.data.datamodule import MultimodalDataModule
from mmlatent.data.datasets import load_dataset
from mmlatent.models import build_model
from mmlatent.training.compiled import CompiledOrEager
from mmlatent.training.systems import build_system

RESULTS = Path(__file__).parent / "results" / "speed.json"
AVMNIST_ROWS = {"limit_train": 10_000, "limit_test": 2_000}
"""The AV-MNIST rows of the comparison with MultiVae (9,000 train, 1,000 validation)."""
BASE_TRAIN = TrainConfig(lr_schedule="constant")

SYNC_OPS = ("aten::_local_scalar_dense", "aten::is_nonzero", "aten::nonzero")
"""Operators that wait for the device's result on the host (``.item()``, boolean indexing, ``if t``)."""


def timed(run: Callable[[], Any]) -> dict[str, float]:
    """Wall and process CPU seconds of ``run()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


class EpochTimer(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def on_train_epoch_end(self, trainer, pl_module):
        self.seconds = {
            "wall": time.perf_counter() - self.wall,
            "cpu": time.process_time() - self.cpu,
        }


def lightning_epoch(system, datamodule) -> dict[str, float]:
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
    trainer.fit(system, datamodule=datamodule)
    return timer.seconds


def bare_epoch(loss_fn, optimizer, loader) -> dict[str, float]:
    def run() -> None:
        for batch in loader:
            loss = loss_fn(batch["data"], batch["mask"]).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return timed(run)


def operator_counts(loss_fn, optimizer, batch) -> dict[str, dict[str, int]]:
    """aten operators launched and host syncs, per phase of one training step (after a warm-up
    step, so the optimiser's state is made and compilation is done)."""
    counts = {}
    loss = None

    def forward():
        nonlocal loss
        loss = loss_fn(batch["data"], batch["mask"]).total

    def backward():
        optimizer.zero_grad(set_to_none=True)
        loss.backward()

    for run in (forward, backward, optimizer.step):  # warm-up
        run()
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


def median_seconds(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu")}


def bare_setup(data, batch_size: int, compiled: bool):
    """A fresh model (seed 0) with the training system's optimiser, its loss and a loader."""
    datamodule = MultimodalDataModule(data, batch_size=batch_size)
    datamodule.setup("fit")
    torch.manual_seed(0)
    model = build_model("mopoe", data.specs, {})
    # The training system's own optimiser, so the counts are those of a real step.
    optimizer = build_system(model, BASE_TRAIN).configure_optimizers()
    loss_fn = CompiledOrEager(model.loss, enabled=compiled)
    return model, loss_fn, optimizer, datamodule.train_dataloader()


def digits_overhead(batch_size: int, repeats: int, compiled: bool) -> dict[str, Any]:
    """Lightning against a bare loop, one digits epoch each, interleaved; operator counts."""
    data = load_dataset("digits")
    datamodule = MultimodalDataModule(data, batch_size=batch_size)
    datamodule.setup("fit")
    torch.manual_seed(0)
    system = build_system(
        build_model("mopoe", data.specs, {}), replace(BASE_TRAIN, compile=compiled)
    )
    _, loss_fn, optimizer, loader = bare_setup(data, batch_size, compiled)
    warmup = {
        "bare": bare_epoch(loss_fn, optimizer, loader),  # allocator, kernels, compilation
        "lightning": lightning_epoch(system, datamodule),
    }
    runs: dict[str, list[dict[str, float]]] = {"lightning": [], "bare": []}
    for _ in range(repeats):
        runs["lightning"].append(lightning_epoch(system, datamodule))
        runs["bare"].append(bare_epoch(loss_fn, optimizer, loader))
    medians = {k: median_seconds(v) for k, v in runs.items()}
    return {
        "train_samples": len(data.splits["train"]),
        "batch_size": batch_size,
        "compiled": loss_fn.compiling,
        "first_epoch_seconds": warmup,
        "epoch_seconds": runs,
        "median_epoch_seconds": medians,
        "ratio_lightning_over_bare": medians["lightning"]["wall"] / medians["bare"]["wall"],
        "modality_shapes": {m: list(s.shape) for m, s in data.specs.items()},
        "per_step": operator_counts(loss_fn, optimizer, next(iter(loader))),
    }


def avmnist_throughput(batch_size: int, repeats: int, compiled: bool) -> dict[str, Any]:
    """Bare-loop samples/s on the AV-MNIST rows compared with MultiVae's MoPoE."""
    data = load_dataset("avmnist", **AVMNIST_ROWS)
    model, loss_fn, optimizer, loader = bare_setup(data, batch_size, compiled)
    first = bare_epoch(loss_fn, optimizer, loader)
    runs = [bare_epoch(loss_fn, optimizer, loader) for _ in range(repeats)]
    rows = len(data.splits["train"])
    medians = median_seconds(runs)
    return {
        "train_samples": rows,
        "batch_size": batch_size,
        "compiled": loss_fn.compiling,
        "parameters": sum(p.numel() for p in model.parameters()),
        "modality_shapes": {m: list(s.shape) for m, s in data.specs.items()},
        "first_epoch_seconds": first,
        "epoch_seconds": runs,
        "median_epoch_seconds": medians,
        "samples_per_s": rows / medians["wall"],
        "samples_per_cpu_s": rows / medians["cpu"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=DataConfig().batch_size)
    parser.add_argument("--avmnist", action="store_true", help="add AV-MNIST samples/s")
    parser.add_argument("--avmnist-batch-size", type=int, default=128)
    parser.add_argument("--compile", action="store_true", help="add the train.compile figures")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    result: dict[str, Any] = {
        "benchmark": "mopoe training speed on CPU",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "torch": torch.__version__,
        "load_average_before": os.getloadavg(),
    }
    variants = [False, True] if args.compile else [False]
    for compiled in variants:
        key = "compiled" if compiled else "eager"
        result.setdefault("digits", {})[key] = digits_overhead(
            args.batch_size, args.repeats, compiled
        )
        if args.avmnist:
            result.setdefault("avmnist", {})[key] = avmnist_throughput(
                args.avmnist_batch_size, max(1, args.repeats - 2), compiled
            )
    result["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    summary = {
        f"{name} {key}": {
            k: section[k]
            for k in ("median_epoch_seconds", "samples_per_s", "per_step", "compiled")
            if k in section
        }
        for name in ("digits", "avmnist")
        for key, section in result.get(name, {}).items()
    }
    print(json.dumps(summary | {"load_average": result["load_average_after"]}, indent=2))


if __name__ == "__main__":
    main()
