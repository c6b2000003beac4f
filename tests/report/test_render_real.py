"""Rendering through the real digits modalities (Griffin-Lim audio, learned vocabulary)."""

from __future__ import annotations

import base64
import io

import pytest
import soundfile as sf
from PIL import Image

from mmlatent.report.render import render


@pytest.mark.slow
def test_real_modalities_render_to_valid_media() -> None:
    from mmlatent.data.datasets import load_dataset

    data = load_dataset("digits")
    image, text, audio = (
        render(data.modalities[m], data.tensors[m][:2]) for m in ("image", "text", "audio")
    )
    assert Image.open(io.BytesIO(base64.b64decode(image[0].image.split(",")[1]))).size == (28, 28)
    assert text[0].text and "<pad>" not in text[0].text
    samples, rate = sf.read(io.BytesIO(base64.b64decode(audio[0].audio.split(",")[1])))
    assert rate == 8000
    assert len(samples) > 1000
