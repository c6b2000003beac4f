"""Audio: WAV in and out, the log-mel front end and the Griffin-Lim back end."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from mmlatent.data.audio import Waveform
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import AudioModality, Modality

ROUND_TRIP_TOLERANCE = 0.05
"""Mean |mel - mel(griffin_lim(mel))| on the [0, 1] scale, i.e. 4 dB of the 80 dB range; measured
about 0.01-0.025 (Griffin-Lim loses phase, so exact equality is impossible)."""


def chirp(sample_rate: int, seconds: float = 0.8, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(300 + 400 * t) / sample_rate
    return (amplitude * np.sin(phase) * np.hanning(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def audio() -> AudioModality:
    return AudioModality()


@pytest.fixture(scope="module")
def round_trip(audio: AudioModality) -> tuple[torch.Tensor, Waveform, torch.Tensor]:
    """One wave -> mel -> wave -> mel pass, shared so librosa's first-call cost is paid once."""
    mel = audio.preprocess(Waveform(chirp(16000), 16000))
    wave = audio.postprocess(mel)
    return mel, wave, audio.preprocess(wave)


def test_load_mixes_stereo_to_mono_at_its_own_rate(tmp_path) -> None:
    left = chirp(22050)
    sf.write(tmp_path / "stereo.wav", np.stack([left, left * 0.5], axis=1), 22050)
    wave = AudioModality().load(tmp_path / "stereo.wav")
    assert wave.sample_rate == 22050 and wave.samples.ndim == 1
    assert np.allclose(wave.samples, left * 0.75, atol=1e-4)


def test_unreadable_wav_names_the_file(tmp_path) -> None:
    (tmp_path / "noise.wav").write_bytes(b"RIFF....garbage")
    with pytest.raises(DataError, match=r"noise\.wav"):
        AudioModality().load(tmp_path / "noise.wav")


def test_preprocess_shape_range_and_fixed_scale(round_trip, audio: AudioModality) -> None:
    mel, _, _ = round_trip
    assert mel.shape == (1, 32, 32) and mel.dtype == torch.float32
    assert mel.min() >= 0.0 and mel.max() <= 1.0
    quiet = audio.preprocess(Waveform(chirp(16000, amplitude=0.05), 16000))
    assert quiet.mean() < mel.mean()  # a fixed dB range keeps loudness (no per-clip normalisation)
    silence = audio.preprocess(Waveform(np.zeros(100, dtype=np.float32), 8000))
    assert torch.count_nonzero(silence) == 0  # short clips are padded with silence


def test_wave_mel_wave_mel_round_trip_within_tolerance(round_trip, audio: AudioModality) -> None:
    mel, wave, again = round_trip
    assert wave.sample_rate == audio.codec.sample_rate
    assert wave.samples.shape == (audio.codec.n_samples,)
    assert (mel - again).abs().mean() < ROUND_TRIP_TOLERANCE


def test_save_writes_16_bit_pcm(tmp_path, round_trip, audio: AudioModality) -> None:
    _, wave, _ = round_trip
    path = audio.save(wave, tmp_path / "clip")
    info = sf.info(path)
    assert path.suffix == ".wav" and info.subtype == "PCM_16" and info.samplerate == 8000
    assert np.allclose(audio.load(path).samples, wave.samples, atol=1 / 2**15 + 1e-6)


def test_waveform_must_be_mono() -> None:
    with pytest.raises(DataError, match="1-D"):
        Waveform(np.zeros((10, 2), dtype=np.float32), 8000)


def test_state_round_trip(audio: AudioModality) -> None:
    custom = AudioModality("speech", sample_rate=16000, n_mels=40, frames=32, top_db=60.0)
    again = Modality.from_state(custom.state())
    assert isinstance(again, AudioModality) and again.state() == custom.state()
    assert again.spec.shape == (1, 40, 32) and audio.spec.likelihood == "laplace"
