"""benchmarks/samplers.py: a row per sampling temperature from one fit, and tables that read
results files with or without the newer figures."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from .loader import load_benchmark

S = load_benchmark("samplers")


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replaces data, judges and judging: each judged draw is recorded, and its 'joint
    coherence' is the spread of the codes it drew."""
    calls: list[dict[str, Any]] = []
    codes = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(S, "load_run_data", lambda run: None)
    monkeypatch.setattr(S, "train_judges", lambda data, **kw: {})
    monkeypatch.setattr(S, "train_codes", lambda run, data: codes)
    monkeypatch.setattr(S, "split_codes", lambda run, data, split: codes[:50])

    def judge_draws(run, data, judges, sample, seed, n, codes, held_out):
        drawn = sample(n, generator=torch.Generator().manual_seed(seed))
        calls.append({"seed": seed, "drawn": drawn})
        spread = float(drawn.std())
        return {
            "seed": seed,
            "joint_coherence": spread,
            "fid": 1.0,
            "kid": 0.0,
            "nearest_code_ratio": 1.0,
        }

    monkeypatch.setattr(S, "judge_draws", judge_draws)
    return calls


def fake_run() -> Any:
    config = SimpleNamespace(eval=SimpleNamespace(judge_epochs=1), seed=0)
    return SimpleNamespace(config=config, model=None)


def test_each_temperature_gets_its_own_row_from_one_fit(judged):
    per_seed, _ = S.benchmark(
        fake_run(), ["gmm:max_components=2"], [0, 1], 300, temperatures=(1.0, 0.5, 0.0)
    )
    labels = ["gmm, t=1", "gmm, t=0.5", "gmm, t=0", S.TRAINING_CODES]
    assert list(per_seed) == labels
    assert [len(rows) for rows in per_seed.values()] == [2, 2, 2, 2]
    spread = {label: rows[0]["joint_coherence"] for label, rows in per_seed.items()}
    assert spread["gmm, t=0"] < spread["gmm, t=0.5"] < spread["gmm, t=1"]
    at_zero = judged[2]["drawn"]  # seed 0's third temperature: component means only
    assert len(torch.unique(at_zero, dim=0)) <= 2


def test_one_temperature_keeps_the_samplers_own_label(judged):
    per_seed, _ = S.benchmark(fake_run(), ["prior"], [0], 10, with_training_codes=False)
    assert list(per_seed) == ["prior"]


def test_a_table_from_an_older_file_shows_figures_it_lacks_as_dashes():
    rows = [{"joint_coherence": 0.9, "fid": 20.0, "kid": 1.0, "nearest_code_ratio": 1.1}]
    summary = S.summary({"gmm": [{**rows[0], "fit_seconds": 2.0}]})
    assert summary["gmm"]["audio_fid"]["n"] == 0 and math.isnan(summary["gmm"]["audio_fid"]["mean"])
    result = {
        "run": "r",
        "model": "mopoe",
        "data": "digits",
        "codes": {"n_codes": 10, "latent_dim": 2},
        "seeds": [0],
        "n_samples": 10,
        "load_average": [0.5],
        "summary": summary,
    }
    line = S.markdown(result).splitlines()[-1]
    assert line == "| gmm | 0.900 | 20.0 | 1.00 | – | – | 1.10 | 2.0 |"
