"""benchmarks/audio_remedies.py: the remedies tried on image->audio, and the real-clip references."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from .loader import load_benchmark

R = load_benchmark("audio_remedies")


def clips(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 6, 10, generator=torch.Generator().manual_seed(seed))


@settings(max_examples=25, deadline=None)
@given(shrink=st.lists(st.floats(0.2, 1.0), min_size=6, max_size=6), seed=st.integers(0, 99))
def test_the_postfilter_undoes_a_per_bin_shrink_of_every_clip_toward_its_time_average(
    shrink: list[float], seed: int
) -> None:
    natural = clips(seed=seed)
    centre = natural.mean(-1, keepdim=True)
    factor = torch.tensor(shrink)[None, None, :, None]  # one per mel bin
    smoothed = centre + factor * (natural - centre)
    gain = R.variance_ratio(natural, smoothed)
    assert gain.shape == (1, 6, 1)
    assert torch.allclose(gain.flatten(), 1 / torch.tensor(shrink), rtol=1e-4)
    assert torch.allclose(R.postfilter(smoothed, gain), natural, atol=1e-5)


def test_the_postfilter_keeps_each_clip_s_time_average_and_is_identity_at_gain_one() -> None:
    mels = clips()
    sharpened = R.postfilter(mels, torch.full((1, 6, 1), 1.5))
    assert torch.allclose(sharpened.mean(-1), mels.mean(-1), atol=1e-6)
    assert not torch.allclose(sharpened, mels)
    assert torch.allclose(R.postfilter(mels, R.variance_ratio(mels, mels)), mels, atol=1e-6)


def test_temperature_runs_from_the_mean_at_zero_to_the_draw_at_one() -> None:
    mean, draw = torch.zeros(3, 4), torch.randn(3, 4)
    assert torch.equal(R.tempered(mean, lambda: draw, 0.0), mean)
    assert torch.equal(R.tempered(mean, lambda: draw, 1.0), draw)
    assert torch.allclose(R.tempered(mean, lambda: draw, 0.5), draw / 2)


def test_digit_averages_average_clips_of_one_label_only() -> None:
    mels = torch.cat([torch.zeros(5, 1, 2, 2), torch.ones(5, 1, 2, 2)])
    mels[:5] += torch.arange(5.0)[:, None, None, None]  # label 0: 0..4, label 1: all ones
    labels = torch.tensor([0] * 5 + [1] * 5)
    rng = np.random.default_rng(0)
    every, truth = R.digit_averages(mels, labels, 0, 7, rng)
    assert truth.tolist() == [0, 1]  # all clips: one average per label, whatever the repeats
    assert torch.allclose(every[0], torch.full((1, 2, 2), 2.0)) and torch.equal(every[1], mels[5])
    single, truth = R.digit_averages(mels, labels, 1, 3, rng)
    assert truth.tolist() == [0, 0, 0, 1, 1, 1]
    assert all(float(m.flatten()[0]) in {0.0, 1.0, 2.0, 3.0, 4.0} for m in single[:3])
    assert torch.equal(single[3:], torch.ones(3, 1, 2, 2))


class Posterior:
    def __init__(self, rows: int) -> None:
        self.mean = torch.zeros(rows, 2)

    def rsample(self) -> torch.Tensor:
        return torch.full_like(self.mean, 4.0)


class RecordingModel:
    """Decodes a code to its first value as a 1-bin log-mel, and records what it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def posterior_for_generation(self, given: dict[str, torch.Tensor]) -> Posterior:
        return Posterior(len(next(iter(given.values()))))

    def generate(self, **kw: Any) -> dict[str, torch.Tensor]:
        self.calls.append(kw)
        if kw.get("latent") is not None:
            code = kw["latent"]
        else:
            posterior = self.posterior_for_generation(kw["given"])
            code = posterior.rsample() if kw.get("temperature", 1.0) else posterior.mean
        return {"audio": code[:, :1, None, None]}


def test_each_remedy_changes_the_code_or_the_inputs_in_its_one_way() -> None:
    model = RecordingModel()
    image = {"image": torch.zeros(3, 1, 2, 2)}
    made = {name: make(image) for name, make in R.remedies(model).items()}
    assert made["draw"].flatten().tolist() == [4.0] * 3
    assert made["temperature 0.5"].flatten().tolist() == [2.0] * 3
    assert made["mean code"].flatten().tolist() == [0.0] * 3
    first, second = model.calls[-2:]  # Gibbs: the image, then the image with its audio
    assert set(first["given"]) == {"image"} and set(second["given"]) == {"image", "audio"}
    assert torch.equal(second["given"]["audio"], made["draw"])
    assert set(made) | {"GV postfilter"} == set(R.REMEDIES)


def test_the_table_puts_both_judges_in_each_cell_and_lists_the_references() -> None:
    cell = {"indep": 0.875, "ours": 0.9}
    result = {name: cell for name in [*R.REMEDIES, "audio->audio", "audio->audio, GV postfilter"]}
    result["gain"] = {"mean": 1.3, "min": 1.05, "max": 1.5}
    table = R.markdown(
        {"rows": 1000, "runs": {"mopoe s0": result}, "references": {"real test clips": cell}}
    )
    assert "| mopoe s0 | 0.875 / 0.900 |" in table and "| 1.30 (1.05-1.50) |" in table
    header, rule = table.splitlines()[2:4]
    assert header.count("|") == rule.count("|") == len(R.REMEDIES) + 5
    assert "- real test clips: 0.875 / 0.900" in table


@pytest.mark.parametrize("k", [2, 3])
def test_averages_of_k_clips_are_means_of_k_distinct_rows(k: int) -> None:
    mels = torch.arange(6.0)[:, None, None, None].expand(6, 1, 1, 1).contiguous()
    labels = torch.zeros(6, dtype=torch.long)
    averages, _ = R.digit_averages(mels, labels, k, 20, np.random.default_rng(1))
    # distinct rows of 0..5: a mean of k of them lies within the range of such means
    low, high = sum(range(k)) / k, sum(range(6 - k, 6)) / k
    assert ((averages >= low - 1e-6) & (averages <= high + 1e-6)).all()
