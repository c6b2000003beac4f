"""Upload checks: size, type and shape are refused with a message, before any decoder runs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmlatent.serve import uploads
from mmlatent.serve.uploads import UploadError


def test_a_png_loads(tmp_path):
    path = tmp_path / "d.png"
    Image.fromarray(np.full((28, 28), 200, dtype=np.uint8)).save(path)
    assert uploads.load_image(path).shape == (28, 28, 3)


def test_a_too_large_image_file_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "d.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(path)
    monkeypatch.setattr(uploads, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(UploadError, match="at most 0 MB is accepted"):
        uploads.load_image(path)


def test_too_many_pixels_are_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "d.png"
    Image.fromarray(np.zeros((50, 50), dtype=np.uint8)).save(path)
    monkeypatch.setattr(uploads, "MAX_IMAGE_PIXELS", 49 * 49)
    with pytest.raises(UploadError, match="50×50 pixels"):
        uploads.load_image(path)


@pytest.mark.parametrize(("name", "message"), [("x.exe", "must be one of"), ("x.png", "empty")])
def test_wrong_suffix_or_empty_file(tmp_path, name, message):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(UploadError, match=message):
        uploads.load_image(path)


def test_audio_longer_than_the_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(8000 * 3, dtype=np.float32), 8000)
    monkeypatch.setattr(uploads, "MAX_AUDIO_SECONDS", 2.0)
    with pytest.raises(UploadError, match=r"lasts 3\.0 s"):
        uploads.load_audio(path)


def test_text_posing_as_audio_is_refused(tmp_path):
    path = tmp_path / "a.wav"
    path.write_text("RIFF? no")
    with pytest.raises(UploadError, match=r"a\.wav is not readable audio"):
        uploads.load_audio(path)


def test_a_stereo_int16_recording_becomes_mono_float():
    stereo = np.stack([np.full(800, 16384), np.zeros(800)], axis=1).astype(np.int16)
    wave = uploads.audio_from_widget((8000, stereo))
    assert wave.samples.shape == (800,) and wave.samples.max() == pytest.approx(0.25, abs=1e-3)


def test_an_image_array_of_the_wrong_shape_is_refused():
    with pytest.raises(UploadError, match="grey, RGB or RGBA"):
        uploads.image_from_widget(np.zeros((4, 4, 2)))
