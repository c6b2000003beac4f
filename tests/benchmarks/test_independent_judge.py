"""benchmarks/independent_judge.py: front end, a tiny synthetic fit, save/load, any-length clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from .loader import load_benchmark

J = load_benchmark("independent_judge")
SR = 16000  # not the judge's rate: every clip is resampled on the way in
PITCHES = 220.0 * 2.0 ** (np.arange(10) * 4 / 12)  # ten tones a major third apart


def tones(per_class: int, seed: int, length_s: float = 0.6) -> tuple[list[np.ndarray], np.ndarray]:
    """Sine tones of ten pitches (label = pitch index), random phase, level, onset and length."""
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for label, f in enumerate(PITCHES):
        for _ in range(per_class):
            n = int(SR * length_s * rng.uniform(0.7, 1.3))
            t = np.arange(n) / SR
            clip = rng.uniform(0.05, 0.9) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
            onset = np.zeros(int(rng.integers(0, SR // 10)))
            clips.append(np.concatenate([onset, clip]).astype(np.float32))
            labels.append(label)
    return clips, np.asarray(labels)


@pytest.fixture(scope="module")
def tone_judge():
    clips, labels = tones(12, seed=0)
    config = J.TrainConfig(epochs=8, batch_size=16, lr=1e-2, width=8, seed=0)
    return J.IndependentAudioJudge(config).fit(clips, SR, labels)


def test_front_end_shape_and_per_clip_normalisation() -> None:
    rng = np.random.default_rng(0)
    loud = rng.standard_normal(SR).astype(np.float32) * 0.5
    clips = [loud, loud * 1e-3, rng.standard_normal(SR // 4) * 0.1, np.zeros(100)]
    x = J.front_end(clips, SR)
    assert x.shape == (4, J.N_MELS, J.FRAMES) == (4, 32, 32)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x[:3].mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(x[:3].std(axis=(1, 2)), 1.0, atol=1e-4)
    np.testing.assert_allclose(x[0], x[1], atol=1e-4)  # 60 dB quieter, same features
    assert np.all(np.isfinite(x[3]))  # silence does not divide by zero
    seconds = J.HOP_LENGTH * (J.FRAMES - 1) / J.SAMPLE_RATE
    assert 0.95 < seconds < 1.0  # about 1 s fills the 32 frames
    assert J.WIN_LENGTH / J.SAMPLE_RATE == 0.025


def test_judge_learns_pitches_well_above_chance(tone_judge) -> None:
    clips, labels = tones(5, seed=1)
    assert tone_judge.accuracy(clips, SR, labels) >= 0.6  # chance is 0.1


def test_save_load_round_trip_predicts_identically(tone_judge, tmp_path) -> None:
    clips, _ = tones(3, seed=2)
    tone_judge.held_out_accuracy = 0.5
    path = tone_judge.save(tmp_path / "judge")
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    loaded = J.IndependentAudioJudge.load(path)
    assert np.array_equal(loaded.predict(clips, SR), tone_judge.predict(clips, SR))
    assert loaded.held_out_accuracy == 0.5
    assert np.array_equal(loaded.classes, np.arange(10))


def test_a_group_norm_judge_learns_round_trips_and_hears_each_clip_alone(tmp_path) -> None:
    """GroupNorm's statistics are each clip's own: a clip's label does not depend on what else
    is in the batch (BatchNorm in eval mode does not either, but its statistics are the
    training clips'); the norm survives saving."""
    clips, labels = tones(12, seed=0)
    config = J.TrainConfig(epochs=8, batch_size=16, lr=1e-2, width=8, seed=0, norm="group")
    judge = J.IndependentAudioJudge(config).fit(clips, SR, labels)
    assert any(isinstance(m, torch.nn.GroupNorm) for m in judge.net.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in judge.net.modules())
    test, test_labels = tones(5, seed=1)
    assert judge.accuracy(test, SR, test_labels) >= 0.6  # chance is 0.1
    together = judge.predict(test, SR)
    assert np.array_equal(together, np.concatenate([judge.predict([c], SR) for c in test]))
    loaded = J.IndependentAudioJudge.load(judge.save(tmp_path / "judge"))
    assert loaded.config.norm == "group"
    assert np.array_equal(loaded.predict(test, SR), together)


def test_an_unknown_norm_is_refused() -> None:
    with pytest.raises(ValueError, match="norm must be one of"):
        J.JudgeNet(10, 8, norm="layer")


def test_predict_takes_clips_of_any_length_and_waveform_objects(tone_judge) -> None:
    class Wave:  # the two attributes the judge reads from the project's Waveform
        def __init__(self, samples, sample_rate):
            self.samples, self.sample_rate = samples, sample_rate

    t = np.arange(int(SR * 2.5)) / SR
    long = np.sin(2 * np.pi * PITCHES[3] * t).astype(np.float32)
    clips = [long, long[: SR // 10], long[:50], Wave(long[: SR // 2], SR)]
    labels = tone_judge.predict(clips, SR)
    assert labels.shape == (4,) and set(labels.tolist()) <= set(range(10))
    assert tone_judge.predict([], SR).shape == (0,)


def test_fsdd_source_splits_by_take_or_skips() -> None:
    try:
        clips, sr, labels = J.fsdd_clips("test")
    except J.JudgeDataError as err:
        pytest.skip(str(err))
    assert sr == J.SAMPLE_RATE and len(clips) == len(labels)
    assert set(labels.tolist()) == set(range(10))


def test_spokennumbers_source_or_skips() -> None:
    try:
        clips, sr, labels = J.spokennumbers_clips()
    except J.JudgeDataError as err:
        pytest.skip(str(err))
    assert sr == J.SAMPLE_RATE and labels.tolist() == list(range(10))
    assert all(0.4 < len(c) / sr < 1.0 for c in clips)


class LabelEchoModel(torch.nn.Module):
    """Generates 'audio' that carries the label stored in its image input (plus ``shift``)."""

    modalities = ("image", "text", "audio")

    def __init__(self, shift: int = 0) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.shift = shift
        self.calls: list[tuple[tuple[str, ...], int, bool]] = []

    def generate(self, *, given, targets, temperature=1.0):
        assert targets == ["audio"] and not torch.is_grad_enabled()
        self.calls.append((tuple(given), len(next(iter(given.values()))), self.training))
        label = given["image"][:, 0] if "image" in given else given["text"][:, 0].float()
        return {"audio": ((label + self.shift) % 10).reshape(-1, 1, 1, 1).expand(-1, 1, 2, 2)}


class EchoAudio:
    """'Griffin-Lim' that writes the mel's value into a clip; the judge below reads it back."""

    def postprocess_many(self, x):
        return [np.full(10, float(v[0, 0, 0])) for v in x]


class EchoJudge:
    def predict(self, waveforms, sr=None):
        return np.array([round(float(w[0])) for w in waveforms])


def echo_data(n: int = 40):
    from types import SimpleNamespace

    labels = torch.arange(n) % 10
    masks = {m: torch.ones(n, dtype=torch.bool) for m in ("image", "text", "audio")}
    masks["text"][::2] = False
    return SimpleNamespace(
        tensors={
            "image": labels.float().reshape(-1, 1),
            "text": labels.reshape(-1, 1),
            "audio": torch.zeros(n, 1, 2, 2),
        },
        masks=masks,
        labels=labels,
        splits={"test": torch.arange(10, n)},
        modalities={"audio": EchoAudio()},
    )


def test_audio_coherence_scores_every_source_subset_with_project_keys() -> None:
    from types import SimpleNamespace

    pytest.importorskip("mmlatent.evaluation.coherence")
    model = LabelEchoModel().train()
    run = SimpleNamespace(model=model, modalities={})
    scores = J.audio_coherence(run, echo_data(), EchoJudge(), limit=12, batch_size=5)
    assert scores == {"image->audio": 1.0, "text->audio": 1.0, "image+text->audio": 1.0}
    assert {c[0] for c in model.calls} == {("image",), ("text",), ("image", "text")}
    assert sum(c[1] for c in model.calls if c[0] == ("image",)) == 12  # limit applies
    assert sum(c[1] for c in model.calls if c[0] == ("text",)) == 12  # 15 test rows have text
    assert not any(c[2] for c in model.calls) and model.training  # eval inside, restored after
    wrong = J.audio_coherence(
        SimpleNamespace(model=LabelEchoModel(shift=1)), echo_data(), EchoJudge()
    )
    assert set(wrong.values()) == {0.0}
