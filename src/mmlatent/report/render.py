"""Turn batches of tensors into things a page can show: pictures, captions, audio players.

One renderer per modality kind (a dict registry, so a new kind is one entry); each goes through
``Modality.postprocess`` so the report shows exactly what ``mmlatent generate`` would save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from mmlatent.data.modalities import Modality
from mmlatent.report.media import data_uri, png_bytes, spectrogram_png, wav_bytes


@dataclass
class Item:
    """One sample as the page shows it; unused fields stay ``None``."""

    kind: str
    image: str | None = None
    """PNG data URI (an image, or the spectrogram of audio)."""
    audio: str | None = None
    """WAV data URI."""
    text: str | None = None


Renderer = Callable[[Modality, Tensor], list[Item]]


def _images(modality: Modality, x: Tensor) -> list[Item]:
    pictures = modality.postprocess_many(x)
    return [Item("image", image=data_uri(png_bytes(p), "image/png")) for p in pictures]


def _texts(modality: Modality, x: Tensor) -> list[Item]:
    return [Item("text", text=str(t) or "(empty)") for t in modality.postprocess_many(x)]


def _audio(modality: Modality, x: Tensor) -> list[Item]:
    waves = modality.postprocess_many(x)  # Griffin-Lim, batched
    return [
        Item(
            "audio",
            audio=data_uri(wav_bytes(w.samples, w.sample_rate), "audio/wav"),
            image=data_uri(spectrogram_png(mel.reshape(mel.shape[-2:])), "image/png"),
        )
        for w, mel in zip(waves, x.detach().float().cpu().numpy(), strict=True)
    ]


def _vectors(modality: Modality, x: Tensor) -> list[Item]:
    def show(v: np.ndarray) -> str:
        head = " ".join(f"{float(a):+.2f}" for a in v[:8])
        return head + (f" … ({len(v)} values)" if len(v) > 8 else "")

    return [Item("vector", text=show(v)) for v in x.detach().float().cpu().numpy()]


RENDERERS: dict[str, Renderer] = {
    "image": _images,
    "text": _texts,
    "audio": _audio,
    "vector": _vectors,
}


def render(modality: Modality, x: Tensor) -> list[Item]:
    """A batch (B, *spec.shape) of ``modality`` -> B page items."""
    kind = modality.spec.kind
    if kind not in RENDERERS:
        raise ValueError(
            f"no report renderer for kind {kind!r}; kinds with one: {sorted(RENDERERS)}"
        )
    return RENDERERS[kind](modality, x.detach().cpu())
