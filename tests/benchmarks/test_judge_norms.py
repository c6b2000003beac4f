"""benchmarks/judge_norms.py: two judges on the same clips, their agreement, the table."""

from __future__ import annotations

import numpy as np

from .loader import load_benchmark

N = load_benchmark("judge_norms")


class Fixed:
    """A judge that hears a fixed label per clip."""

    def __init__(self, labels: list[int]) -> None:
        self.labels = np.asarray(labels)

    def predict(self, waveforms):
        assert len(waveforms) == len(self.labels)
        return self.labels


def test_each_judge_is_scored_and_agreement_is_counted_per_clip() -> None:
    truth = np.array([0, 1, 2, 3])
    judges = {"batch": Fixed([0, 1, 9, 9]), "group": Fixed([0, 9, 2, 9])}
    scores = N.hear(judges, [object()] * 4, truth)
    assert scores == {"batch": 0.5, "group": 0.5, "agree": 0.5}  # rows 0 and 3 agree


def test_the_table_has_a_row_per_blur_and_per_run_direction() -> None:
    cell = {"batch": 0.9, "group": 0.95, "agree": 0.97}
    results = {
        "rows": 10,
        "norms": ["batch", "group"],
        "held_out": {"batch": 0.987, "group": 0.99},
        "real": {"0": cell, "1": cell},
        "runs": {"mopoe": {"image->audio": cell, "audio->audio": cell}},
    }
    table = N.markdown(results)
    assert "| real, Griffin-Lim | 0.900 | 0.950 | 0.970 |" in table
    assert "| real, blurred 1 bin |" in table
    assert "| mopoe: image->audio | 0.900 | 0.950 | 0.970 |" in table
    assert "| mopoe: audio->audio |" in table
    assert "batch 0.987, group 0.990" in table
