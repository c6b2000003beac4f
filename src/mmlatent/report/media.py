"""Bytes for the report: PNG pictures and 16-bit WAV audio, embedded as base64 data URIs.

Embedding everything keeps ``report.html`` one file that opens offline and can be mailed around.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import soundfile as sf
from matplotlib import colormaps
from matplotlib.figure import Figure
from PIL import Image


def data_uri(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def png_bytes(array: np.ndarray) -> bytes:
    """uint8 (H, W), (H, W, 1) or (H, W, 3) -> PNG."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(samples: np.ndarray, sample_rate: int, *, peak: float = 0.9) -> bytes:
    """Mono 16-bit PCM WAV, scaled to ``peak`` so that quiet Griffin-Lim output is audible."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    top = float(np.abs(samples).max()) if samples.size else 0.0
    if top > 0:
        samples = samples * (peak / top)
    buffer = io.BytesIO()
    sf.write(buffer, samples, int(sample_rate), format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def spectrogram_png(mel: np.ndarray, *, scale: int = 2) -> bytes:
    """Log-mel (n_mels, frames) in [0, 1] -> a magma picture, low frequencies at the bottom."""
    rgb = colormaps["magma"](np.clip(mel[::-1], 0, 1))[..., :3]  # (n_mels, frames, 3)
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    return png_bytes((rgb * 255).round().astype(np.uint8))


def figure_png(fig: Figure) -> bytes:
    """A Matplotlib figure (built without pyplot, so no global state) -> PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
