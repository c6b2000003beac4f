"""MoPoE training throughput on one accelerator: samples/s per batch size, precision and compile,
and Lightning against a bare loop. One prepared script for a short, metered GPU session.

Runs from a source checkout (``PYTHONPATH=src``) under any torch >= 2.4 with Lightning; needs
nothing beyond torch, Lightning, torchmetrics, numpy, librosa and soundfile. Data: AV-MNIST read
from ``--root`` (a folder holding ``mnist/`` and ``fsdd/``), or the built-in ``digits``.

    PYTHONPATH=src python benchmarks/gpu.py --root data/ [--limit-train 10000] [--budget-s 240]

The whole training split is moved to the device once; batches are index tensors drawn there, so
the figures measure the step, not collation or host-to-device copies. Writes
``benchmarks/results/gpu.json`` (``--out``) with the device name and every figure; a CPU run
(``--device cpu``) is a smoke test of the script, not a GPU figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch

from mmlatent.config import TrainConfig
from mmlatent.data.datamodule import MultimodalDataModule
from mmlatent.data.datasets import load_dataset
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.models import build_model
from mmlatent.training.compiled import CompiledOrEager
from mmlatent.training.systems import build_system
from mmlatent.types import Batch

RESULTS = Path(__file__).parent / "results" / "gpu.json"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_batches(data: MultimodalData, device: torch.device, batch_size: int) -> Iterator[Batch]:
    """Endless random batches of the training split, indexed on the device (no host copies)."""
    rows = data.splits["train"].to(device)
    tensors = {m: t.to(device) for m, t in data.tensors.items()}
    masks = {m: k.to(device) for m, k in data.masks.items()}
    while True:
        for chunk in rows[torch.randperm(len(rows), device=device)].split(batch_size):
            if len(chunk) < batch_size:
                break  # equal shapes for every step (compile and CUDA graphs need them)
            yield {
                "data": {m: t[chunk] for m, t in tensors.items()},
                "mask": {m: k[chunk] for m, k in masks.items()},
            }


def training_step(model: torch.nn.Module, precision: str) -> Callable[[Batch], torch.Tensor]:
    """The loss of one batch, under bf16 autocast when asked."""

    def step(batch: Batch) -> torch.Tensor:
        autocast = (
            torch.autocast(device_type=model.device.type, dtype=torch.bfloat16)
            if precision == "bf16"
            else contextlib.nullcontext()
        )
        with autocast:
            return model.loss(batch["data"], batch["mask"]).total

    return step


def bare_throughput(
    data: MultimodalData,
    device: torch.device,
    *,
    batch_size: int,
    precision: str,
    compiled: bool,
    steps: int,
    warmup: int,
) -> dict[str, Any]:
    """Samples/s of a bare PyTorch loop (loss, backward, fused Adam) over on-device batches."""
    torch.manual_seed(0)
    model = build_model("mopoe", data.specs, {}).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    # train.compile's wrapper: the GRU traced too, and a compiler failure falls back (recorded).
    loss_of = CompiledOrEager(training_step(model, precision), enabled=compiled)
    batches = device_batches(data, device, batch_size)

    def one_step() -> None:
        loss = loss_of(next(batches))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    started = time.perf_counter()
    for _ in range(warmup):
        one_step()
    synchronize(device)
    warmup_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        one_step()
    synchronize(device)
    seconds = time.perf_counter() - started
    return {
        "batch_size": batch_size,
        "precision": precision,
        "compile_requested": compiled,
        "compiled": loss_of.compiling,
        "steps": steps,
        "ms_per_step": 1000 * seconds / steps,
        "samples_per_s": batch_size * steps / seconds,
        "warmup_s": warmup_s,
    }


class EpochTimer(L.Callback):
    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(pl_module.device)
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(pl_module.device)
        self.seconds = time.perf_counter() - self.started


def lightning_against_bare(
    data: MultimodalData, device: torch.device, *, batch_size: int, repeats: int
) -> dict[str, Any]:
    """One epoch through Lightning and through a bare loop over the same loader, interleaved."""
    datamodule = MultimodalDataModule(data, batch_size=batch_size)
    datamodule.setup("fit")
    torch.manual_seed(0)
    lightning_model = build_model("mopoe", data.specs, {})
    bare_model = build_model("mopoe", data.specs, {}).to(device)
    optimizer = torch.optim.Adam(bare_model.parameters(), lr=1e-3, fused=True)
    system = build_system(lightning_model, TrainConfig(lr_schedule="constant"))

    def lightning_epoch() -> float:
        timer = EpochTimer()
        trainer = L.Trainer(
            max_epochs=1,
            accelerator=device.type if device.type != "cuda" else "gpu",
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

    def bare_epoch() -> float:
        synchronize(device)
        started = time.perf_counter()
        for batch in datamodule.train_dataloader():
            data_ = {m: t.to(device, non_blocking=True) for m, t in batch["data"].items()}
            mask = {m: k.to(device, non_blocking=True) for m, k in batch["mask"].items()}
            loss = bare_model.loss(data_, mask).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        synchronize(device)
        return time.perf_counter() - started

    lightning_epoch(), bare_epoch()  # warm-up: allocator, kernels, caches
    times: dict[str, list[float]] = {"lightning": [], "bare": []}
    for _ in range(repeats):
        times["lightning"].append(lightning_epoch())
        times["bare"].append(bare_epoch())
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "batch_size": batch_size,
        "train_samples": len(data.splits["train"]),
        "epoch_seconds": times,
        "median_epoch_seconds": medians,
        "ratio_lightning_over_bare": medians["lightning"] / medians["bare"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="AV-MNIST folder (mnist/, fsdd/); without it: digits")
    parser.add_argument("--limit-train", type=int, default=10_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-sizes", default="128,1024,4096")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled variants")
    parser.add_argument("--repeats", type=int, default=3, help="Lightning-vs-bare epochs")
    parser.add_argument(
        "--budget-s", type=float, default=240, help="stop adding configurations after this"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    started = time.perf_counter()
    device = torch.device(args.device)
    if args.root:
        data = load_dataset("avmnist", root=args.root, limit_train=args.limit_train)
    else:
        data = load_dataset("digits")
    result: dict[str, Any] = {
        "benchmark": "mopoe training throughput",
        "data": data.name,
        "train_samples": len(data.splits["train"]),
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "throughput": [],
        "skipped": [],
    }

    def save() -> None:
        result["total_seconds"] = time.perf_counter() - started
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))

    for compiled in [False] if args.no_compile else [False, True]:
        for precision in ("fp32", "bf16"):
            for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
                name = f"batch {batch_size} {precision}{' compiled' if compiled else ''}"
                if time.perf_counter() - started > args.budget_s:
                    result["skipped"].append(f"{name}: over --budget-s")
                    continue
                if batch_size > len(data.splits["train"]):
                    result["skipped"].append(f"{name}: batch larger than the training split")
                    continue
                try:
                    figure = bare_throughput(
                        data,
                        device,
                        batch_size=batch_size,
                        precision=precision,
                        compiled=compiled,
                        steps=args.steps,
                        warmup=args.warmup,
                    )
                except Exception as err:  # a compile failure is a result to record, not a crash
                    result["skipped"].append(f"{name}: {type(err).__name__}: {err}"[:500])
                    continue
                result["throughput"].append(figure)
                print(f"{name:28s} {figure['samples_per_s']:>12,.0f} samples/s "
                      f"{figure['ms_per_step']:7.2f} ms/step")  # fmt: skip
                save()
    # Last, and whatever the budget: the overhead ratio is a target of its own.
    result["lightning_vs_bare"] = lightning_against_bare(
        data, device, batch_size=128, repeats=args.repeats
    )
    save()
    print(json.dumps(result["lightning_vs_bare"]["median_epoch_seconds"]))
    print(f"ratio Lightning / bare: {result['lightning_vs_bare']['ratio_lightning_over_bare']:.2f}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
