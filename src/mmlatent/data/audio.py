"""Audio: WAV in and out, a log-mel front end and a Griffin-Lim back end sharing one mel filterbank.

The log-mel is scaled by a FIXED decibel range (not per clip), so loudness survives the round trip
and a decoder's output means the same thing for every clip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import soundfile as sf

from mmlatent.data.errors import DataError

log = logging.getLogger(__name__)

MAX_DB = 30.0
"""Top of the fixed dB range: a full-scale sine reaches about +25 dB in this front end."""
AMIN = 1e-10
"""Power floor before the log, so silence maps to a finite (clipped) value."""
MAX_AMPLITUDE = 1e4
"""Largest sample magnitude read (80 dB above full scale): beyond it a float WAV is damaged, and
its power would overflow float32 in the mel front end (NaN features)."""


@dataclass(frozen=True)
class Waveform:
    """A mono clip: float32 samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise DataError(f"waveform must be 1-D (mono), got shape {samples.shape}")
        if self.sample_rate <= 0:
            raise DataError(f"sample rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", samples)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def load_wav(path: str | Path, *, max_seconds: float | None = None) -> Waveform:
    """Read a WAV (any rate, mono or multi-channel -> mono by averaging).

    With ``max_seconds``, a longer clip is read only that far (with a message), so an hour-long
    file costs seconds of memory, not gigabytes. Empty, unreadable or non-finite audio is a
    ``DataError`` naming the file.
    """
    try:
        info = sf.info(str(path))
        frames = info.frames
        if max_seconds is not None and frames > max_seconds * info.samplerate:
            frames = int(max_seconds * info.samplerate)
            log.info("%s: %.1f s clip; reading its first %.1f s", path, info.duration, max_seconds)
        samples, rate = sf.read(
            str(path), frames=frames, dtype="float32", always_2d=True
        )  # (T, channels)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError, EOFError) as err:
        raise DataError(f"{path}: cannot read audio ({err})") from err
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise DataError(f"{path}: audio file has no samples")
    if not np.isfinite(samples).all():
        raise DataError(f"{path}: audio holds NaN or infinite samples")
    loudest = float(np.abs(samples).max())
    if loudest > MAX_AMPLITUDE:
        raise DataError(
            f"{path}: a sample reaches {loudest:.3g}, far outside a WAV's [-1, 1]: a damaged file"
        )
    return Waveform(samples.mean(axis=1), int(rate))


def save_wav(wave: Waveform, path: str | Path) -> Path:
    """Write 16-bit PCM WAV (clipped to [-1, 1])."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wave.samples, -1.0, 1.0), wave.sample_rate, subtype="PCM_16")
    return path


def resample(wave: Waveform, sample_rate: int) -> Waveform:
    if wave.sample_rate == sample_rate:
        return wave
    import librosa

    out = librosa.resample(wave.samples, orig_sr=wave.sample_rate, target_sr=sample_rate)
    return Waveform(out.astype(np.float32), sample_rate)


@dataclass(frozen=True)
class MelCodec:
    """Waveforms <-> log-mel in [0, 1], with one filterbank used both ways."""

    sample_rate: int = 8000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 32
    frames: int = 32
    top_db: float = 80.0
    griffin_lim_iters: int = 32

    @property
    def n_samples(self) -> int:
        """Samples that give exactly ``frames`` centred STFT frames."""
        return (self.frames - 1) * self.hop_length

    @cached_property
    def filterbank(self) -> np.ndarray:
        import librosa

        return librosa.filters.mel(
            sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels
        )  # (M, F)

    def fit_length(self, samples: np.ndarray) -> np.ndarray:
        """Pad with silence or crop the last axis to ``n_samples``."""
        n = samples.shape[-1]
        if n >= self.n_samples:
            return samples[..., : self.n_samples]
        pad = [(0, 0)] * (samples.ndim - 1) + [(0, self.n_samples - n)]
        return np.pad(samples, pad)

    def encode(self, samples: np.ndarray, chunk: int = 512) -> np.ndarray:
        """Samples (B, T) at ``sample_rate`` -> scaled log-mel (B, n_mels, frames) float32 in [0, 1]."""
        import librosa

        samples = self.fit_length(np.asarray(samples, dtype=np.float32))  # (B, n_samples)
        out = np.empty((len(samples), self.n_mels, self.frames), dtype=np.float32)
        for start in range(0, len(samples), chunk):
            part = samples[start : start + chunk]
            spec = librosa.stft(
                part, n_fft=self.n_fft, hop_length=self.hop_length
            )  # (b, F, frames)
            power = np.abs(spec) ** 2
            mel = np.einsum("mf,bft->bmt", self.filterbank, power)  # (b, n_mels, frames)
            db = 10.0 * np.log10(np.maximum(mel, AMIN))
            out[start : start + len(part)] = np.clip((db - MAX_DB) / self.top_db + 1.0, 0.0, 1.0)
        return out

    def decode(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled log-mel (..., n_mels, frames) -> samples (..., n_samples) by Griffin-Lim."""
        import librosa

        db = (np.clip(scaled, 0.0, 1.0) - 1.0) * self.top_db + MAX_DB
        mel = np.power(10.0, db / 10.0, dtype=np.float32)
        mel = np.where(scaled <= 0.0, 0.0, mel)  # the floor stands for silence
        power = librosa.util.nnls(self.filterbank, mel)  # (..., F, frames)
        magnitude = np.sqrt(np.maximum(power, 0.0))
        samples = librosa.griffinlim(
            magnitude,
            n_iter=self.griffin_lim_iters,
            hop_length=self.hop_length,
            n_fft=self.n_fft,
            length=self.n_samples,
            random_state=0,
        )
        return samples.astype(np.float32)
