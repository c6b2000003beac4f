"""WAV and PNG bytes, damaged every way a file gets damaged: the reader returns a clip or an
image that preprocesses to finite numbers of the right shape, or a ``DataError`` naming the file.
Never another exception, never NaN, never an attempt to allocate a huge image."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from fuzz_budget import examples, settings
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mmlatent.data.errors import DataError
from mmlatent.data.modalities import AudioModality, ImageModality

FUZZ = settings.get_profile("mmlatent")


def wav_bytes(samples: np.ndarray, rate: int = 8000, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def png_bytes(width: int = 12, height: int = 9, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, len(mode)), np.uint8)
    Image.fromarray(pixels.squeeze(-1) if mode == "L" else pixels, mode).save(buffer, "PNG")
    return buffer.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (its data cannot back it up)."""
    data = bytearray(png_bytes())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


TONE = np.sin(np.linspace(0, 200, 4000)).astype(np.float32) * 0.5
VALID_WAVS = [wav_bytes(TONE), wav_bytes(TONE, 16000, "FLOAT"), wav_bytes(np.stack([TONE] * 2, 1))]
VALID_PNGS = [png_bytes(), png_bytes(40, 30, "RGB"), png_bytes(5, 70, "L")]


def damaged(valid: list[bytes]) -> st.SearchStrategy[bytes]:
    """Valid files truncated, with bytes overwritten, with junk appended, or replaced outright."""
    base = st.sampled_from(valid)
    truncated = st.builds(lambda b, f: b[: int(len(b) * f)], base, st.floats(0, 1))
    overwritten = st.builds(
        lambda b, at, junk: b[: int(len(b) * at)] + junk + b[int(len(b) * at) + len(junk) :],
        base,
        st.floats(0, 1),
        st.binary(min_size=1, max_size=16),
    )
    appended = st.builds(lambda b, junk: b + junk, base, st.binary(max_size=64))
    return st.one_of(truncated, overwritten, appended, st.binary(max_size=128), base)


def nan_wav(where: float, value: float) -> bytes:
    samples = TONE.copy()
    samples[int(where * (len(samples) - 1))] = value
    return wav_bytes(samples, subtype="FLOAT")


def check_audio(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    audio = AudioModality(n_mels=8, frames=16)
    try:
        clip = audio.load(path)
    except DataError as err:
        assert str(path) in str(err)
        return
    x = audio.preprocess(clip)
    assert x.shape == (1, 8, 16) and bool(torch.isfinite(x).all())


def check_image(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    image = ImageModality(size=(8, 8))
    try:
        raw = image.load(path)
    except DataError as err:
        assert str(path) in str(err)
        return
    x = image.preprocess(raw)
    assert x.shape == (1, 8, 8) and bool(torch.isfinite(x).all())


@settings(FUZZ, max_examples=examples(150))
@given(content=damaged(VALID_WAVS))
def test_damaged_wav_bytes(tmp_path: Path, content: bytes) -> None:
    check_audio(tmp_path / "clip.wav", content)


@settings(FUZZ, max_examples=examples(60))
@given(
    where=st.floats(0, 1),
    value=st.sampled_from([float("nan"), float("inf"), -float("inf")]),
)
def test_wav_with_non_finite_samples_is_refused(tmp_path: Path, where: float, value: float) -> None:
    path = tmp_path / "nan.wav"
    path.write_bytes(nan_wav(where, value))
    try:
        AudioModality(n_mels=8, frames=16).load(path)
    except DataError as err:
        assert str(path) in str(err) and "NaN or infinite" in str(err)
    else:
        raise AssertionError("a clip with non-finite samples was accepted")


@settings(FUZZ, max_examples=examples(150))
@given(content=damaged(VALID_PNGS))
def test_damaged_png_bytes(tmp_path: Path, content: bytes) -> None:
    check_image(tmp_path / "image.png", content)


@settings(FUZZ, max_examples=examples(60))
@given(width=st.integers(0, 2**31 - 1), height=st.integers(0, 2**31 - 1))
def test_png_header_with_any_dimensions(tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / "huge.png"
    check_image(path, png_with_size(width, height))


def test_a_huge_image_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(png_with_size(100_000, 100_000))
    try:
        ImageModality().load(path)
    except DataError as err:
        assert f"{path}: image too large" in str(err)
    else:
        raise AssertionError("a 10-gigapixel image was accepted")


def test_a_large_image_is_shrunk_on_reading(tmp_path: Path) -> None:
    path = tmp_path / "large.png"
    Image.new("L", (3000, 1500), color=200).save(path)
    raw = ImageModality().load(path)
    assert raw.shape == (512, 1024)  # longest side 1024, aspect kept
    assert ImageModality().preprocess(raw).shape == (1, 28, 28)


def test_a_long_clip_is_read_only_as_far_as_needed(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    rate = 8000
    sf.write(path, np.zeros(rate * 150, dtype=np.float32), rate)  # 150 s
    audio = AudioModality()
    clip = audio.load(path)
    assert clip.duration == audio.read_seconds < 150
    assert audio.preprocess(clip).shape == audio.spec.shape


def test_an_empty_wav_is_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(wav_bytes(np.zeros(0, dtype=np.float32)))
    try:
        AudioModality().load(path)
    except DataError as err:
        assert f"{path}: audio file has no samples" in str(err)
    else:
        raise AssertionError("an empty clip was accepted")


def test_a_float_wav_with_an_absurd_sample_is_refused_by_name(tmp_path: Path) -> None:
    """Found by ``make fuzz``: one damaged float sample (1.5e20) overflowed the mel power to inf,
    and the features came out NaN."""
    samples = TONE.copy()
    samples[1234] = 1.4757395e20
    path = tmp_path / "damaged.wav"
    path.write_bytes(wav_bytes(samples, subtype="FLOAT"))
    try:
        AudioModality(n_mels=8, frames=16).load(path)
    except DataError as err:
        assert f"{path}: a sample reaches 1.48e+20" in str(err)
    else:
        raise AssertionError("a clip with a 1.5e20 sample was accepted")
    samples[1234] = 3.0  # loud, but a real float WAV can go past full scale: still read
    path.write_bytes(wav_bytes(samples, subtype="FLOAT"))
    audio = AudioModality(n_mels=8, frames=16)
    assert bool(torch.isfinite(audio.preprocess(audio.load(path))).all())
