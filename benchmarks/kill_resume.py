"""``kill -9`` during ``mmlatent fit``, then ``mmlatent fit --resume``: same final weights?

A small MoPoE on ``digits`` is trained once without interruption (the reference), which also
measures when each resumable checkpoint is written and so how long a training step takes. Each
trial starts the same fit, waits for a random one of those checkpoints (any but the last), then
for a random fraction of the steps until the next, and kills the process with SIGKILL: the kill
lands at a random step, whatever the machine's load. A trial counts only if the run was still
training (no ``model.safetensors``); one that finished first is a failure to kill, counted and
drawn again. The run is then resumed and its final ``model.safetensors`` compared with the
reference, bitwise. Processes run under ``nice`` with one thread each (as on a shared machine).
Results: ``results/kill_resume.json``.

    python benchmarks/kill_resume.py --trials 10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import load_file

RESULTS = Path(__file__).parent / "results"
MMLATENT = str(Path(sys.executable).with_name("mmlatent"))
CONFIG = """\
seed: 0
data: {name: digits, batch_size: 64}
model: {name: mopoe, options: {latent_dim: 4, hidden_dim: 16}}
train: {max_epochs: 6, limit_train_batches: 24, checkpoint_every_n_steps: 4, progress_bar: false}
"""
"""144 steps, a resumable checkpoint every 4 (none at an epoch's last step): 30 in all."""
TRAIN = yaml.safe_load(CONFIG)["train"]
EVERY_N_STEPS = int(TRAIN["checkpoint_every_n_steps"])
TOTAL_STEPS = int(TRAIN["max_epochs"]) * int(TRAIN["limit_train_batches"])
CHECKPOINT = Path("checkpoints") / "resume.ckpt"
NICE = ["nice", "-n", "10"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
"""One thread everywhere: the same float sums in every run, and less contention."""


@dataclass
class Reference:
    """The uninterrupted fit, and the moments its resumable checkpoints appeared."""

    seconds: float
    save_times: list[float]

    @property
    def step_seconds(self) -> float:
        """A training step's duration: the typical gap between checkpoints, per step."""
        gaps = [b - a for a, b in zip(self.save_times, self.save_times[1:], strict=False)]
        return statistics.median(gaps) / EVERY_N_STEPS


def reference_fit(config: Path, out: Path) -> Reference:
    start = time.monotonic()
    proc = _start([*_fit_args(config, out)], out)
    save_times = _watch_saves(out / CHECKPOINT, proc, until=None)
    if proc.wait() != 0:
        raise RuntimeError(f"reference fit failed ({proc.returncode}):\n{_tail(out, 'fit')}")
    if len(save_times) < 2:
        raise RuntimeError(f"the reference fit wrote {len(save_times)} resumable checkpoints")
    return Reference(time.monotonic() - start, save_times)


def trial(config: Path, out: Path, reference: Reference, rng: random.Random) -> dict[str, Any]:
    """Fit, SIGKILL at a random step after a random checkpoint, resume; returns the record."""
    after_save = rng.randint(1, len(reference.save_times) - 1)
    steps_after = rng.uniform(0.0, EVERY_N_STEPS)
    delay = steps_after * reference.step_seconds
    record: dict[str, Any] = {
        "after_save": after_save,
        "delay_steps": round(steps_after, 2),
        "delay_s": round(delay, 3),
    }
    proc = _start(_fit_args(config, out), out)
    _watch_saves(out / CHECKPOINT, proc, until=after_save)
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    if proc.wait() not in (0, -signal.SIGKILL):
        raise RuntimeError(f"fit failed ({proc.returncode}) before the kill:\n{_tail(out, 'fit')}")
    # Killed mid-run only if it had not finished: a finished run writes its weights.
    record["killed"] = (
        proc.returncode == -signal.SIGKILL and not (out / "model.safetensors").exists()
    )
    if not record["killed"]:
        return record
    record["resumed_from_step"] = int(
        torch.load(out / CHECKPOINT, weights_only=True, map_location="cpu")["global_step"]
    )
    start = time.monotonic()
    resumed = _start([MMLATENT, "fit", "--resume", str(out)], out, "resume")
    record["resume_exit_code"] = resumed.wait()
    record["resume_s"] = round(time.monotonic() - start, 1)
    return record


def compare(a: Path, b: Path) -> tuple[bool, float]:
    x, y = load_file(str(a)), load_file(str(b))
    if x.keys() != y.keys():
        return False, float("inf")
    same = all(torch.equal(x[k], y[k]) for k in x)
    return same, max(float((x[k] - y[k]).abs().max()) for k in x)


def _fit_args(config: Path, out: Path) -> list[str]:
    return [MMLATENT, "fit", "--config", str(config), "--out", str(out)]


def _start(args: list[str], out: Path, what: str = "fit") -> subprocess.Popen:
    """``args`` under ``nice`` (which execs them: the pid is theirs), logged beside the run."""
    log = open(_log(out, what), "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([*NICE, *args], stdout=log, stderr=subprocess.STDOUT, env=ENV)


def _log(out: Path, what: str) -> Path:
    return out.with_name(f"{out.name}.{what}.log")


def _tail(out: Path, what: str) -> str:
    log = _log(out, what)
    return log.read_text()[-2000:] if log.exists() else ""


def _watch_saves(path: Path, proc: subprocess.Popen, until: int | None) -> list[float]:
    """Moments ``path`` was (re)written, until ``until`` writes or the process ends: each save
    renames a new file onto it (a new inode and modification time)."""
    seen: list[tuple[int, int]] = []
    times: list[float] = []
    while (until is None or len(times) < until) and proc.poll() is None:
        with contextlib.suppress(FileNotFoundError):
            stat = path.stat()
            if not seen or seen[-1] != (stat.st_ino, stat.st_mtime_ns):
                seen.append((stat.st_ino, stat.st_mtime_ns))
                times.append(time.monotonic())
        time.sleep(0.005)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    parser.add_argument("--out", type=Path, default=RESULTS / "kill_resume.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started, load_before = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "config.yaml"
        config.write_text(CONFIG)
        reference = reference_fit(config, work / "reference")
        print(
            f"reference: {reference.seconds:.1f} s, {len(reference.save_times)} checkpoints, "
            f"{reference.step_seconds:.3f} s a step",
            flush=True,
        )
        records: list[dict[str, Any]] = []
        while sum(r["killed"] for r in records) < args.trials:
            if len(records) >= 3 * args.trials:
                raise RuntimeError("most fits finished before their kill: lengthen CONFIG")
            out = work / f"trial-{len(records)}"
            record = trial(config, out, reference, rng)
            if record["killed"] and record["resume_exit_code"] == 0:
                record["identical"], record["max_abs_diff"] = compare(
                    work / "reference" / "model.safetensors", out / "model.safetensors"
                )
            elif record["killed"]:
                record["resume_log"] = _tail(out, "resume")
            records.append(record)
            print(json.dumps(record), flush=True)
            summary = write_summary(  # after each trial: kept if cut short
                args.out, records, reference, time.monotonic() - started, load_before
            )
    print(
        f"{summary['killed_mid_run']} killed mid-run, {summary['identical_final_weights']} "
        f"identical, max |diff| {summary['max_abs_diff']} -> {args.out}"
    )


def write_summary(
    out: Path,
    records: list[dict[str, Any]],
    reference: Reference,
    seconds: float,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    killed = [r for r in records if r["killed"]]
    diffs = [r["max_abs_diff"] for r in killed if "max_abs_diff" in r]
    summary = {
        "config": CONFIG,
        "attempts": len(records),
        "killed_mid_run": len(killed),
        "identical_final_weights": sum(bool(r.get("identical")) for r in killed),
        "max_abs_diff": max(diffs) if diffs else None,
        "finished_before_the_kill": len(records) - len(killed),
        "total_steps": TOTAL_STEPS,
        "resumed_from_steps": sorted(r["resumed_from_step"] for r in killed),
        "reference_seconds": round(reference.seconds, 1),
        "checkpoints_observed": len(reference.save_times),
        "step_seconds": round(reference.step_seconds, 4),
        "wall_seconds": round(seconds, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": "shared 2-core CPU under load from other jobs; fits under nice -n 10, 1 thread",
        "records": records,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
