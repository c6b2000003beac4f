"""Checks on what a browser sends: size, type and shape, each failure a one-line message.

A web page accepts files from anyone who can reach it, so every upload is checked before any
decoder sees it; the message goes to the page (``UploadError`` is a ``ValueError``), never a stack
trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from mmlatent.data.audio import Waveform, load_wav
from mmlatent.data.errors import DataError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""Largest image file accepted (a 28×28 digit is under 1 kB)."""
MAX_IMAGE_PIXELS = 4096 * 4096
"""Largest image accepted, so a small compressed file cannot expand into gigabytes."""
MAX_AUDIO_BYTES = 10 * 1024 * 1024
"""Largest audio file accepted (30 s of 16-bit 44.1 kHz stereo is about 5 MB)."""
MAX_AUDIO_SECONDS = 30.0
"""Longest clip accepted; the model hears well under a second of it anyway."""
MAX_TEXT_CHARS = 500
"""Longest caption accepted before tokenising."""
MAX_UPLOAD_BYTES = max(MAX_IMAGE_BYTES, MAX_AUDIO_BYTES)
"""The server's own limit on any request's file (Gradio's ``max_file_size``)."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


class UploadError(ValueError):
    """An input from the page was refused; the message says why and what is accepted."""


def _check_file(path: str | Path, what: str, suffixes: tuple[str, ...], max_bytes: int) -> Path:
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UploadError(
            f"the {what} must be one of {', '.join(suffixes)} (got {path.suffix or 'no suffix'!r})"
        )
    if not path.is_file():
        raise UploadError(f"the {what} upload did not arrive; please try again")
    size = path.stat().st_size
    if size > max_bytes:
        raise UploadError(
            f"the {what} is {size / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB is accepted"
        )
    if size == 0:
        raise UploadError(f"the {what} file is empty")
    return path


def check_image_array(image: np.ndarray) -> np.ndarray:
    """A decoded image (H, W) or (H, W, C) of a sane size, else ``UploadError``."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise UploadError(f"the image must be grey, RGB or RGBA, got shape {image.shape}")
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise UploadError(
            f"the image is {image.shape[1]}×{image.shape[0]} pixels; at most "
            f"{MAX_IMAGE_PIXELS} pixels are accepted"
        )
    if image.size == 0:
        raise UploadError("the image is empty")
    return image


def load_image(path: str | Path) -> np.ndarray:
    """An uploaded image file -> uint8 array, after size, type and pixel-count checks."""
    path = _check_file(path, "image", IMAGE_SUFFIXES, MAX_IMAGE_BYTES)
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise UploadError(
                    f"the image is {img.width}×{img.height} pixels; at most "
                    f"{MAX_IMAGE_PIXELS} pixels are accepted"
                )
            img.load()
            array = np.asarray(img.convert("RGBA" if "A" in img.mode else "RGB"))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise UploadError(f"{path.name} is not a readable image") from err
    return check_image_array(array)


def load_audio(path: str | Path) -> Waveform:
    """An uploaded or recorded audio file -> mono waveform, after size, type and length checks."""
    path = _check_file(path, "audio", AUDIO_SUFFIXES, MAX_AUDIO_BYTES)
    try:
        wave = load_wav(path)
    except DataError as err:
        raise UploadError(f"{path.name} is not readable audio") from err
    return check_waveform(wave)


def check_waveform(wave: Waveform) -> Waveform:
    """A clip of finite samples no longer than ``MAX_AUDIO_SECONDS``, else ``UploadError``."""
    if wave.duration > MAX_AUDIO_SECONDS:
        raise UploadError(
            f"the audio lasts {wave.duration:.1f} s; at most {MAX_AUDIO_SECONDS:.0f} s is accepted"
        )
    if not np.isfinite(wave.samples).all():
        raise UploadError("the audio holds invalid (non-finite) samples")
    return wave


def audio_from_widget(value: Any) -> Waveform | None:
    """A Gradio audio value (a file path, or ``(rate, samples)`` from a recording) -> waveform."""
    if value is None:
        return None
    if isinstance(value, str | Path):
        return load_audio(value)
    rate, samples = value
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):  # Gradio hands 16-bit PCM as ints
        samples = samples / float(np.iinfo(samples.dtype).max)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)  # (T, channels) -> (T,)
    if samples.size == 0:
        raise UploadError("the recording is empty")
    return check_waveform(Waveform(samples.astype(np.float32), int(rate)))


def check_text(text: str | None) -> str | None:
    """A caption stripped of spaces, or ``None`` when empty; refuses very long ones."""
    text = (text or "").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise UploadError(f"the text has {len(text)} characters; at most {MAX_TEXT_CHARS} fit")
    return text or None


def image_from_widget(value: Any) -> np.ndarray | None:
    """A Gradio image value (a file path, an array, or an editor's ``{"composite": ...}``) ->
    checked uint8 array; ``None`` when nothing was given or drawn."""
    if isinstance(value, dict):  # ImageEditor / Sketchpad: the flattened drawing
        value = value.get("composite")
    if value is None:
        return None
    if isinstance(value, str | Path):
        return load_image(value)
    image = check_image_array(np.asarray(value))
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image
