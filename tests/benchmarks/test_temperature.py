"""benchmarks/temperature.py: spread over draws, the summary over runs and its table."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from .loader import load_benchmark

T = load_benchmark("temperature")


def data(rows: int = 5) -> Any:
    return SimpleNamespace(tensors={"image": torch.arange(float(rows))[:, None]})


def test_spread_is_over_the_draws_of_one_input_not_across_inputs() -> None:
    rows = torch.arange(5)
    by_row = T.spread(data(), rows, lambda given: given["image"] * 10, "image")
    assert by_row == 0.0  # rows differ, but each input always gives the same output

    def noisy(given: dict[str, torch.Tensor]) -> torch.Tensor:
        return given["image"] + 0.5 * torch.randn_like(given["image"])

    assert T.spread(data(), rows, noisy, "image") == pytest.approx(0.5, rel=0.35)


class RecordingModel:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def generate(self, **kw: Any) -> dict[str, torch.Tensor]:
        self.calls.append(kw)
        return {kw["targets"][0]: kw["given"]["text"] * kw["temperature"]}


def test_each_temperature_reaches_generate() -> None:
    model = RecordingModel()
    out = T.at(model, "text", "image", 0.25)({"text": torch.ones(2, 1)})
    assert out.flatten().tolist() == [0.25, 0.25]
    assert model.calls == [
        {"given": model.calls[0]["given"], "targets": ["image"], "temperature": 0.25}
    ]


def result(spread_at_one: float, coherence: float) -> dict[str, Any]:
    audio = {
        str(t): {"indep": coherence, "ours": 0.9, "fid": 40.0, "precision": 0.5, "recall": 0.1}
        | {"spread": spread_at_one * t}
        for t in T.TEMPERATURES
    }
    image = {str(t): {k: v for k, v in cells.items() if k != "indep"} for t, cells in audio.items()}
    return {"image->audio": audio, "text->image": image}


def test_the_summary_gives_spread_relative_to_temperature_one_per_run() -> None:
    runs = {"a": result(0.02, 0.8), "b": result(0.5, 0.9)}
    table = T.summary({"runs": runs}, "image->audio")
    assert list(table) == [str(t) for t in T.TEMPERATURES]
    assert table["0.5"]["spread"] == pytest.approx([0.5, 0.5])  # whatever each run's own scale
    assert table["1.0"]["indep"] == [0.8, 0.9]


def test_the_table_has_a_section_per_direction_and_the_independent_judge_for_audio_only() -> None:
    text = T.markdown({"rows": 1000, "runs": {"a": result(0.02, 0.8), "b": result(0.5, 0.9)}})
    audio, image = text.split("### image->audio")[1].split("### text->image")
    assert "coherence (indep.)" in audio and "coherence (indep.)" not in image
    assert "| 0.5 | 0.850 ± 0.050 | 0.900 ± 0.000 | 40.0 ± 0.0 |" in audio
    for section in (audio, image):
        header, rule = [line for line in section.splitlines() if line.startswith("|")][:2]
        assert header.count("|") == rule.count("|")
