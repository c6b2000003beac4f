"""benchmarks/audio_errors.py: audio errors split by whether the same code's text was right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from .loader import load_benchmark

A = load_benchmark("audio_errors")


def test_audio_errors_are_split_by_the_text_of_the_same_code() -> None:
    text = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1])
    audio = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 1])
    table = A.crosstab(text, audio)
    assert table["text"] == pytest.approx(0.6) and table["audio"] == pytest.approx(0.5)
    assert table["audio_wrong_given_text_right"] == pytest.approx(2 / 6)  # decoder errors
    assert table["audio_right_given_text_wrong"] == pytest.approx(1 / 4)


def test_all_right_text_leaves_no_code_errors_to_divide_by() -> None:
    table = A.crosstab(np.ones(4, bool), np.array([1, 0, 1, 1]))
    assert table["audio_right_given_text_wrong"] == 0.0
    assert table["audio_wrong_given_text_right"] == pytest.approx(0.25)


def test_the_table_has_one_row_per_run_in_column_order() -> None:
    result = {
        "sampled": {
            "text": 0.95,
            "audio": 0.88,
            "audio_ours": 0.91,
            "audio_wrong_given_text_right": 0.07,
            "audio_right_given_text_wrong": 0.14,
        },
        "mean": {"audio": 0.90},
        "audio_to_audio": 0.83,
        "griffin_lim_ceiling": 0.98,
    }
    table = A.markdown({"rows": 1000, "runs": {"mopoe s1": result}})
    assert "| mopoe s1 | 0.950 | 0.880 | 0.910 | 0.070 | 0.140 | 0.900 | 0.830 | 0.980 |" in table
    assert len(A.COLUMNS) == len(A.row(result))
    header, rule = table.splitlines()[2:4]
    assert header.count("|") == rule.count("|") == len(A.COLUMNS) + 2  # no name breaks a cell


def test_detail_is_one_for_the_reference_and_falls_as_it_is_blurred() -> None:
    mels = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert A.detail(mels, mels) == pytest.approx(1.0)
    softer = [A.detail(A.blurred(mels, s), mels) for s in (0.5, 1.0, 2.0)]
    assert 1.0 > softer[0] > softer[1] > softer[2] > 0
    flat = torch.full_like(mels, 0.3)
    assert A.detail(flat, mels) == 0.0
    assert A.blurred(mels, 1.0).shape == mels.shape
    assert torch.equal(A.blurred(mels, 0.0), mels)
