"""benchmarks/zoo_seeds.py: a lead over MultiVae counts only when every seed holds it."""

from __future__ import annotations

import json
from pathlib import Path

from .loader import load_benchmark

S = load_benchmark("zoo_seeds")


def entry(shift: float) -> dict:
    """A zoo entry whose figures are MultiVae's MoPoE row plus ``shift``."""
    reference = dict(zip(S.COLUMNS, S.MULTIVAE["mopoe"], strict=True))
    return {
        "coherence": {d: reference[d] + shift for d in S.MULTIVAE_DIRECTIONS},
        "joint_coherence": {"prior": reference["joint prior"] + shift, "gmm": 0.9},
        "coherence_independent_audio_judge": {"image->audio": 0.8},
    }


def write(path: Path, entries: dict) -> Path:
    path.write_text(json.dumps({"entries": entries}))
    return path


def test_one_seed_behind_takes_the_lead_away(tmp_path: Path) -> None:
    files = [
        write(tmp_path / "s0.json", {"mopoe": entry(0.05), "mvae": {"skipped": "why"}}),
        write(tmp_path / "s1.json", {"mopoe": entry(0.05)}),
    ]
    seeds = S.collect(files)
    assert list(seeds) == ["mopoe"]  # skipped entries are left out
    assert S.ahead_on_every_seed("mopoe", seeds["mopoe"]) == list(S.COLUMNS)

    seeds["mopoe"][1]["joint prior"] -= 0.10
    assert S.ahead_on_every_seed("mopoe", seeds["mopoe"]) == list(S.COLUMNS[:-1])
    table = S.markdown(seeds, ["s0.json", "s1.json"])
    assert "9 of 10 (not: joint prior 0.2770)" in table  # worst seed: 0.327 + 0.05 - 0.10
    assert "| mopoe | 2 | 0.697 ± 0.000 |" in table
    assert "| *MultiVae* |  | 0.647 |" in table


def test_only_keeps_the_named_entries(tmp_path: Path) -> None:
    files = [write(tmp_path / "s0.json", {"mopoe": entry(0.05), "jmvae": entry(0.0)})]
    assert list(S.collect(files, {"jmvae"})) == ["jmvae"]
    assert sorted(S.collect(files)) == ["jmvae", "mopoe"]
