"""How long the caches take to answer: ``digits`` built vs. read back, a judge trained vs. reloaded.

The tests check that the caches are used (they fail if a cached item is rebuilt); how fast that
is depends on the machine, so it is measured here instead. Results: ``results/cache_timing.json``.

    python benchmarks/cache_timing.py
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def seconds(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return round(time.perf_counter() - start, 3)


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MMLATENT_CACHE"] = cache
        from mmlatent.data.datasets import load_dataset
        from mmlatent.evaluation import train_judges

        data_built = seconds(lambda: load_dataset("digits"))
        data_read = seconds(lambda: load_dataset("digits"))
        data = load_dataset("digits")
        judges = Path(cache) / "judges"
        judge_args = {"cache_dir": judges, "max_epochs": 2, "modalities": ["image"]}
        judge_trained = seconds(lambda: train_judges(data, **judge_args))
        judge_reloaded = seconds(lambda: train_judges(data, **judge_args))
    results = {
        "digits_build_s": data_built,
        "digits_from_cache_s": data_read,
        "image_judge_train_2_epochs_s": judge_trained,
        "image_judge_from_cache_s": judge_reloaded,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
        "(shared with other jobs when measured: indicative only)",
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "cache_timing.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
