"""``kill -9`` during ``mmlatent fit``, then ``mmlatent fit --resume``: same final weights?

A small MoPoE on ``digits`` is trained once without interruption (the reference). Each trial
starts the same fit, waits for a random number of its resumable checkpoints to be written (so
for a random step, whatever the machine's load), kills the process with SIGKILL after a further
random fraction of a second, resumes it, and compares the final ``model.safetensors`` with the
reference, bitwise. Results: ``results/kill_resume.json``.

    python benchmarks/kill_resume.py --trials 10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

RESULTS = Path(__file__).parent / "results"
MMLATENT = str(Path(sys.executable).with_name("mmlatent"))
CONFIG = """\
seed: 0
data: {name: digits, batch_size: 64}
model: {name: mopoe, options: {latent_dim: 4, hidden_dim: 16}}
train: {max_epochs: 3, limit_train_batches: 8, checkpoint_every_n_steps: 3, progress_bar: false}
"""
CHECKPOINT = Path("checkpoints") / "resume.ckpt"
SAVES = 7
"""Resumable checkpoints the config writes: every 3 of 24 steps, none at an epoch's last step."""


def timed_fit(config: Path, out: Path) -> tuple[float, float]:
    """Uninterrupted fit: (seconds until the first resumable checkpoint, seconds in all)."""
    start = time.monotonic()
    proc = subprocess.Popen(_fit_args(config, out), **_logged(out))
    first = _wait_for(out / CHECKPOINT, proc)
    if proc.wait() != 0:
        raise RuntimeError(f"reference fit failed with {proc.returncode}")
    return first - start, time.monotonic() - start


def trial(config: Path, out: Path, saves: int, rng: random.Random) -> dict[str, Any]:
    """Fit, SIGKILL at a random step after a random checkpoint, resume; returns the record."""
    proc = subprocess.Popen(_fit_args(config, out), **_logged(out))
    target = rng.randint(1, saves)
    _wait_for_saves(out / CHECKPOINT, proc, target)
    delay = rng.uniform(0.0, 0.5)
    time.sleep(delay)
    if proc.poll() is not None:
        return {"killed": False, "after_save": target, "delay_s": delay}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if (out / "model.safetensors").exists():  # killed while exiting, after the run was saved
        return {"killed": False, "after_save": target, "delay_s": delay}
    step = int(torch.load(out / CHECKPOINT, weights_only=True)["global_step"])
    resumed = subprocess.run([MMLATENT, "fit", "--resume", str(out)], **_logged(out, "resume"))
    return {
        "killed": True,
        "after_save": target,
        "delay_s": round(delay, 2),
        "resumed_from_step": step,
        "resume_exit_code": resumed.returncode,
    }


def compare(a: Path, b: Path) -> tuple[bool, float]:
    x, y = load_file(str(a)), load_file(str(b))
    same = x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    diff = (
        max(float((x[k] - y[k]).abs().max()) for k in x) if x.keys() == y.keys() else float("inf")
    )
    return same, diff


def _fit_args(config: Path, out: Path) -> list[str]:
    return [MMLATENT, "fit", "--config", str(config), "--out", str(out)]


def _logged(out: Path, what: str = "fit") -> dict[str, Any]:
    """Output to ``<out>.<what>.log`` beside the run, read back when something fails."""
    log = open(out.with_name(f"{out.name}.{what}.log"), "w")  # noqa: SIM115 - closed with the process
    return {"stdout": log, "stderr": subprocess.STDOUT}


def _wait_for_saves(path: Path, proc: subprocess.Popen, n: int) -> None:
    """Until ``path`` has been (re)written ``n`` times: each save renames a new file onto it."""
    seen: set[int] = set()
    while len(seen) < n and proc.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            seen.add(path.stat().st_ino)
        time.sleep(0.01)


def _wait_for(path: Path, proc: subprocess.Popen) -> float:
    while not path.exists():
        if proc.poll() is not None:
            log = Path(proc.args[-1]).with_name(f"{Path(proc.args[-1]).name}.fit.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"fit ended ({proc.returncode}) before writing {path}:\n{tail}")
        time.sleep(0.05)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    parser.add_argument("--out", type=Path, default=RESULTS / "kill_resume.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "config.yaml"
        config.write_text(CONFIG)
        _first, total = timed_fit(config, work / "reference")
        records = []
        while len([r for r in records if r["killed"]]) < args.trials:
            out = work / f"trial-{len(records)}"
            record = trial(config, out, SAVES, rng)
            if record["killed"] and record["resume_exit_code"] == 0:
                record["identical"], record["max_abs_diff"] = compare(
                    work / "reference" / "model.safetensors", out / "model.safetensors"
                )
            records.append(record)
            print(json.dumps(record), flush=True)
            summary = write_summary(args.out, records, total)  # after each trial: kept if cut short
    print(f"{summary['identical_final_weights']}/{summary['trials']} identical -> {args.out}")


def write_summary(out: Path, records: list[dict[str, Any]], total: float) -> dict[str, Any]:
    killed = [r for r in records if r["killed"]]
    summary = {
        "config": CONFIG,
        "trials": len(killed),
        "identical_final_weights": sum(bool(r.get("identical")) for r in killed),
        "finished_before_the_kill": len(records) - len(killed),
        "reference_seconds": round(total, 1),
        "machine": "shared 2-core CPU under load from other jobs (timings are indicative only)",
        "records": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
