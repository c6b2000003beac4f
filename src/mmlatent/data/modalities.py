"""Modalities: how one kind of raw data becomes a tensor and goes back to a file.

CONTRACT (concrete classes below are registered with ``@register_modality(kind)``):
- ``Modality(name=..., **options)``; ``fit(raws)`` learns what it must from the training split
  (the text vocabulary); ``spec`` describes its tensors (valid after ``fit``).
- ``load(path) -> raw``: read a file (PNG/JPEG, WAV, .txt); errors name the file.
- ``preprocess(raw) -> Tensor`` of shape ``spec.shape``; ``postprocess(Tensor) -> raw``;
  ``save(raw, path_without_suffix) -> Path`` writes PNG / 16-bit WAV / UTF-8 text.
- ``state() -> dict`` of plain values (options + learned vocabulary); ``Modality.from_state``
  rebuilds an identical modality, so a reloaded run preprocesses and decodes the same way.
"""

from __future__ import annotations

import logging
import struct
import warnings
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from mmlatent.data.audio import MelCodec, Waveform, load_wav, resample, save_wav
from mmlatent.data.errors import DataError
from mmlatent.data.text import Level, SentenceFeatures, Tokenizer, encode_padded
from mmlatent.registry import MODALITIES, register_modality
from mmlatent.types import Likelihood, ModalitySpec

log = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 64_000_000
"""Images with more pixels are refused rather than decoded (8000x8000; a decoded RGB image of
that size takes 192 MB)."""
READ_MAX_SIDE = 1024
"""Longer image sides are shrunk to this on reading: rows are held raw until preprocessing,
and every modality size in use is far smaller."""
MAX_FITTED_LEN = 32
"""Longest text length (positions, ``<bos>``/``<eos>`` included) that ``TextModality`` fits to a
corpus; longer texts need ``truncate`` or an explicit ``max_len``."""
MIN_READ_SECONDS = 60.0
"""Audio clips are read at least this far (see ``AudioModality.read_seconds``)."""
# What Pillow raises on broken files besides OSError: bad chunks (SyntaxError), short reads
# (EOFError, struct.error), corrupt compressed data (zlib.error), absurd sizes.
_IMAGE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    zlib.error,
)


class Modality(ABC):
    """One kind of raw data and its tensor form; concrete classes register under their ``kind``."""

    kind: ClassVar[str]
    suffix: ClassVar[str]
    given_inline: ClassVar[bool] = False
    """A raw value is typed as it is (a string), not read from a file: ``--given text=...``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fit(self, raws: list[Any]) -> Modality:
        """Learn what the modality needs from the training raws (most learn nothing)."""
        return self

    @property
    @abstractmethod
    def spec(self) -> ModalitySpec: ...

    @abstractmethod
    def load(self, path: str | Path) -> Any: ...

    @abstractmethod
    def preprocess(self, raw: Any) -> Tensor: ...

    @abstractmethod
    def postprocess(self, x: Tensor) -> Any: ...

    @abstractmethod
    def save(self, raw: Any, path: str | Path) -> Path: ...

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Plain values (JSON/YAML-safe) that rebuild this modality; must include ``kind`` and ``name``."""

    @staticmethod
    def from_state(state: dict[str, Any]) -> Modality:
        cls = MODALITIES.get(state["kind"])
        return cls.from_state_dict(state)

    @classmethod
    @abstractmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Modality: ...

    def preprocess_many(self, raws: Sequence[Any] | np.ndarray) -> Tensor:
        """Raws -> (N, *spec.shape); subclasses override where a batched path is much faster."""
        if not raws:
            return torch.zeros((0, *self.spec.shape))
        return torch.stack([self.preprocess(r) for r in raws])

    def postprocess_many(self, x: Tensor) -> list[Any]:
        """(N, *spec.shape) -> N raws."""
        return [self.postprocess(row) for row in x]

    def placeholder(self) -> Tensor:
        """Values stored where this modality is missing (never read by a model: the mask says so)."""
        spec = self.spec
        dtype = torch.long if spec.kind == "text" else torch.float32
        return torch.zeros(spec.shape, dtype=dtype)

    def _target(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix.lower() != self.suffix:
            path = path.with_name(path.name + self.suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def __repr__(self) -> str:
        options = ", ".join(
            f"{k}={v!r}" for k, v in self.state().items() if k not in ("kind", "vocab")
        )
        return f"{type(self).__name__}({options})"


def _state_options(state: dict[str, Any], drop: tuple[str, ...] = ("kind",)) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in drop}


@register_modality("image")
class ImageModality(Modality):
    """Images as float (C, H, W) in [0, 1]; PNG out, so a saved uint8 image reloads exactly."""

    kind = "image"
    suffix = ".png"

    def __init__(
        self, name: str = "image", *, size: tuple[int, int] = (28, 28), channels: int = 1
    ) -> None:
        super().__init__(name)
        if channels not in (1, 3):
            raise ValueError(f"image modality {name!r}: channels must be 1 or 3, got {channels}")
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(
                f"image modality {name!r}: size must be (height, width) > 0, got {size}"
            )
        self.size = (int(size[0]), int(size[1]))
        self.channels = channels

    @property
    def spec(self) -> ModalitySpec:
        return ModalitySpec(
            name=self.name, kind="image", shape=(self.channels, *self.size), likelihood="bernoulli"
        )

    def load(self, path: str | Path) -> np.ndarray:
        """Read an image file; a huge one is refused, a large one shrunk on reading (both say so)."""
        try:
            with warnings.catch_warnings():  # Pillow's size warning: our own limit below applies
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(path)
            with img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS or min(width, height) < 1:
                    raise DataError(
                        f"{path}: image too large ({width}x{height}); at most "
                        f"{MAX_IMAGE_PIXELS:,} pixels are read, to bound memory: shrink it first"
                    )
                side = max(READ_MAX_SIDE, 2 * max(self.size))
                if max(width, height) > side:
                    img.thumbnail((side, side))
                    log.info(
                        "%s: %dx%d image shrunk to %dx%d on reading", path, width, height, *img.size
                    )
                img.load()
                return np.asarray(img.convert(self._pil_mode(img)))
        except DataError:
            raise
        except Image.DecompressionBombError as err:  # Pillow's own limit, met on opening
            raise DataError(f"{path}: image too large ({err})") from err
        except _IMAGE_ERRORS as err:
            raise DataError(f"{path}: cannot read image ({type(err).__name__}: {err})") from err

    @staticmethod
    def _pil_mode(img: Image.Image) -> str:
        return "L" if img.mode in ("1", "L", "I", "I;16", "F", "LA") else "RGB"

    def _to_pil(self, raw: Any) -> Image.Image:
        if isinstance(raw, Image.Image):
            return raw.convert(self._pil_mode(raw))
        arr = np.asarray(raw)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]  # (H, W)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
            raise DataError(
                f"image {self.name!r}: expected (H, W) or (H, W, C) array, got {arr.shape}"
            )
        if arr.dtype != np.uint8:
            if not np.issubdtype(arr.dtype, np.floating):
                raise DataError(
                    f"image {self.name!r}: expected uint8 or float in [0, 1], got {arr.dtype}"
                )
            arr = np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
        return Image.fromarray(arr).convert("L" if arr.ndim == 2 else "RGB")

    def preprocess(self, raw: Any) -> Tensor:
        img = self._to_pil(raw).convert("L" if self.channels == 1 else "RGB")
        height, width = self.size
        if img.size != (width, height):
            img = img.resize((width, height), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32).reshape(height, width, self.channels) / 255.0
        return torch.from_numpy(arr).permute(2, 0, 1).contiguous()  # (C, H, W)

    def preprocess_many(self, raws: Sequence[Any] | np.ndarray) -> Tensor:
        if isinstance(raws, np.ndarray) and self._native_grey(raws):
            # (N, H, W) grey at the right size: no per-image Pillow work
            return torch.from_numpy(raws.astype(np.float32) / 255.0).unsqueeze(1)  # (N, 1, H, W)
        return super().preprocess_many(list(raws))

    def _native_grey(self, arr: np.ndarray) -> bool:
        return (
            arr.dtype == np.uint8
            and arr.ndim == 3
            and arr.shape[1:] == self.size
            and self.channels == 1
        )

    def postprocess(self, x: Tensor) -> np.ndarray:
        arr = (
            (x.detach().float().clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy()
        )  # (C, H, W)
        return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)  # (H, W) or (H, W, C)

    def save(self, raw: Any, path: str | Path) -> Path:
        target = self._target(path)
        self._to_pil(raw).save(target, format="PNG")
        return target

    def state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "size": list(self.size),
            "channels": self.channels,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ImageModality:
        return cls(state["name"], size=tuple(state["size"]), channels=state["channels"])


@register_modality("text")
class TextModality(Modality):
    """Text as token ids (max_len,) with a vocabulary learned by ``fit`` on the training texts.

    ``max_len`` counts token positions, ``<bos>`` and ``<eos>`` included; left ``None``, ``fit``
    measures it on the corpus (``fitted_length``), and the saved state keeps the number.
    """

    kind = "text"
    suffix = ".txt"
    given_inline = True

    def __init__(
        self,
        name: str = "text",
        *,
        max_len: int | None = None,
        level: Level = "word",
        min_count: int = 1,
        lowercase: bool = True,
        truncate: bool = False,
    ) -> None:
        super().__init__(name)
        if max_len is not None and max_len < 3:
            raise ValueError(f"text modality {name!r}: max_len must be >= 3 (bos, a token, eos)")
        self.max_len = max_len
        self.fits_length = max_len is None
        self.truncate = truncate
        self.tokenizer = Tokenizer(level=level, lowercase=lowercase, min_count=min_count)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def length(self) -> int:
        """Token positions per text: ``max_len``, once given or fitted."""
        self._require_fitted()
        if self.max_len is None:
            raise DataError(f"text modality {self.name!r}: call fit(texts) to measure its length")
        return self.max_len

    @property
    def spec(self) -> ModalitySpec:
        return ModalitySpec(
            name=self.name,
            kind="text",
            shape=(self.length,),
            likelihood="categorical",
            vocab_size=self.vocab_size,
        )

    def _require_fitted(self) -> None:
        if not self.tokenizer.fitted:
            raise DataError(
                f"text modality {self.name!r}: call fit(texts) on the training texts first"
            )

    def fit(self, raws: list[Any], *, corpus: Sequence[Any] | None = None) -> TextModality:
        """Learn the vocabulary from ``raws`` (the training texts) and, unless ``max_len`` was
        given, the length from ``corpus`` (every text of the data set, so no held-out text is
        cut; default ``raws``)."""
        texts = [t for t in raws if isinstance(t, str)]
        self.tokenizer.fit(texts)
        if not self.tokenizer.fitted:
            raise DataError(f"text modality {self.name!r}: the training texts hold no tokens")
        if self.fits_length:
            measured = texts if corpus is None else [t for t in corpus if isinstance(t, str)]
            self.max_len = self.fitted_length(measured)
        return self

    def fitted_length(self, texts: Sequence[str]) -> int:
        """The longest text's tokens plus ``<bos>`` and ``<eos>``, at most ``MAX_FITTED_LEN``.

        An autoregressive decoder runs one step per position: one-word captions padded to 32
        positions cost 10x the steps they need, and pads are predicted as tokens too.
        """
        longest = max((len(self.tokenizer.split(t)) for t in texts), default=1)
        return max(3, min(longest + 2, MAX_FITTED_LEN))

    def check(self, text: Any) -> None:
        """Raise a ``DataError`` naming ``text`` if it is empty or too long (no vocabulary needed;
        before ``fit`` of a fitted length, "too long" means over ``MAX_FITTED_LEN``)."""
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"empty text {text!r}")
        limit = MAX_FITTED_LEN if self.max_len is None else self.max_len
        n = len(self.tokenizer.split(text))
        if n + 2 > limit and not self.truncate:
            raise DataError(
                f"text {text!r} has {n} tokens; at most {limit - 2} fit in max_len={limit}"
            )

    def unknown_words(self, text: str) -> list[str]:
        """Words (or characters) of ``text`` this modality's vocabulary lacks."""
        return self.tokenizer.unknown(text)

    def load(self, path: str | Path) -> str:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: cannot read text ({err})") from err

    def preprocess(self, raw: Any) -> Tensor:
        self._require_fitted()
        if not isinstance(raw, str):
            raise DataError(f"text {self.name!r}: expected a string, got {type(raw).__name__}")
        return encode_padded(self.tokenizer, raw, self.length, truncate=self.truncate)

    def postprocess(self, x: Tensor) -> str:
        """Ids (max_len,) -> text; logits (max_len, vocab) are decoded by argmax."""
        ids = x.argmax(-1) if x.dim() == 2 else x
        return self.tokenizer.decode(ids.tolist())

    def decode_batch(self, x: Tensor) -> list[str]:
        """Ids (B, max_len) or logits (B, max_len, vocab) -> B texts."""
        ids = x.argmax(-1) if x.dim() == 3 else x
        return [self.tokenizer.decode(row) for row in ids.tolist()]

    def postprocess_many(self, x: Tensor) -> list[Any]:
        return list(self.decode_batch(x))

    def save(self, raw: Any, path: str | Path) -> Path:
        target = self._target(path)
        target.write_text(f"{raw}\n", encoding="utf-8")
        return target

    def state(self) -> dict[str, Any]:
        tok = self.tokenizer
        return {
            "kind": self.kind,
            "name": self.name,
            "max_len": self.max_len,
            "level": tok.level,
            "min_count": tok.min_count,
            "lowercase": tok.lowercase,
            "truncate": self.truncate,
            "vocab": list(tok.vocab),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> TextModality:
        out = cls(**_state_options(state, ("kind", "vocab")))
        out.tokenizer = Tokenizer(
            level=out.tokenizer.level,
            lowercase=out.tokenizer.lowercase,
            min_count=out.tokenizer.min_count,
            vocab=list(state["vocab"]),
        )
        return out


@register_modality("audio")
class AudioModality(Modality):
    """Audio as a log-mel (1, n_mels, frames) in [0, 1] over a fixed dB range; Griffin-Lim back to a wave.

    The default 32 x 32 grid (a hop of 256 samples at 8 kHz, half the 512-sample window) spans
    the same 0.99 s as 64 frames at a hop of 128 did, at half the networks' cost.
    """

    kind = "audio"
    suffix = ".wav"

    def __init__(
        self,
        name: str = "audio",
        *,
        sample_rate: int = 8000,
        n_fft: int = 512,
        hop_length: int = 256,
        n_mels: int = 32,
        frames: int = 32,
        top_db: float = 80.0,
        griffin_lim_iters: int = 32,
    ) -> None:
        super().__init__(name)
        self.codec = MelCodec(
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            n_mels=n_mels,
            frames=frames,
            top_db=float(top_db),
            griffin_lim_iters=griffin_lim_iters,
        )

    @property
    def spec(self) -> ModalitySpec:
        return ModalitySpec(
            name=self.name,
            kind="audio",
            shape=(1, self.codec.n_mels, self.codec.frames),
            likelihood="laplace",
        )

    def load(self, path: str | Path) -> Waveform:
        return load_wav(path, max_seconds=self.read_seconds)

    @property
    def read_seconds(self) -> float:
        """How much of a clip is read: the codec keeps only its first ``frames`` frames, so a
        generous multiple of that (at least a minute) loses nothing."""
        codec = self.codec
        return max(MIN_READ_SECONDS, 4.0 * codec.n_samples / codec.sample_rate)

    def _samples(self, raw: Any) -> np.ndarray:
        if not isinstance(raw, Waveform):
            raise DataError(f"audio {self.name!r}: expected a Waveform, got {type(raw).__name__}")
        return self.codec.fit_length(resample(raw, self.codec.sample_rate).samples)

    def preprocess(self, raw: Any) -> Tensor:
        return self.preprocess_many([raw])[0]

    def preprocess_many(self, raws: Sequence[Any] | np.ndarray) -> Tensor:
        """All clips through one batched STFT: (N, 1, n_mels, frames)."""
        if not len(raws):
            return torch.zeros((0, *self.spec.shape))
        samples = np.stack([self._samples(r) for r in raws])  # (N, n_samples)
        return torch.from_numpy(self.codec.encode(samples)).unsqueeze(1)  # (N, 1, n_mels, frames)

    def postprocess(self, x: Tensor) -> Waveform:
        mel = x.detach().float().cpu().numpy().reshape(self.codec.n_mels, self.codec.frames)
        return Waveform(self.codec.decode(mel), self.codec.sample_rate)

    def postprocess_many(self, x: Tensor) -> list[Any]:
        mel = x.detach().float().cpu().numpy().reshape(len(x), self.codec.n_mels, self.codec.frames)
        return [Waveform(s, self.codec.sample_rate) for s in self.codec.decode(mel)]

    def save(self, raw: Any, path: str | Path) -> Path:
        if not isinstance(raw, Waveform):
            raise DataError(
                f"audio {self.name!r}: save expects a Waveform, got {type(raw).__name__}"
            )
        return save_wav(raw, self._target(path))

    def state(self) -> dict[str, Any]:
        c = self.codec
        return {
            "kind": self.kind,
            "name": self.name,
            "sample_rate": c.sample_rate,
            "n_fft": c.n_fft,
            "hop_length": c.hop_length,
            "n_mels": c.n_mels,
            "frames": c.frames,
            "top_db": c.top_db,
            "griffin_lim_iters": c.griffin_lim_iters,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> AudioModality:
        return cls(**_state_options(state))


@register_modality("vector")
class VectorModality(Modality):
    """A fixed-length float vector (D,), e.g. frozen sentence features; saved as .npy."""

    kind = "vector"
    suffix = ".npy"

    def __init__(self, name: str, *, dim: int, likelihood: Likelihood = "gaussian") -> None:
        super().__init__(name)
        if dim <= 0:
            raise ValueError(f"vector modality {name!r}: dim must be positive, got {dim}")
        self.dim = dim
        self.likelihood = likelihood
        self.spec  # noqa: B018 - validates the likelihood now rather than at first use

    @property
    def spec(self) -> ModalitySpec:
        return ModalitySpec(
            name=self.name, kind="vector", shape=(self.dim,), likelihood=self.likelihood
        )

    def load(self, path: str | Path) -> np.ndarray:
        try:
            return np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: cannot read vector ({err})") from err

    def preprocess(self, raw: Any) -> Tensor:
        arr = np.asarray(raw, dtype=np.float32)
        if arr.shape != (self.dim,):
            raise DataError(f"vector {self.name!r}: expected shape ({self.dim},), got {arr.shape}")
        return torch.from_numpy(arr.copy())

    def postprocess(self, x: Tensor) -> np.ndarray:
        return x.detach().float().cpu().numpy().reshape(self.dim)

    def save(self, raw: Any, path: str | Path) -> Path:
        target = self._target(path)
        np.save(target, np.asarray(raw, dtype=np.float32))
        return target

    def state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "dim": self.dim,
            "likelihood": self.likelihood,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> VectorModality:
        return cls(**_state_options(state))


@register_modality("sentence")
class SentenceModality(Modality):
    """Text as its frozen all-MiniLM-L6-v2 sentence features (384,): a string goes in, a vector
    (kind ``vector``) is what models see. A condition, never generated back into text: outputs
    are saved as .npy. Needs the ``text-features`` extra; features of identical strings are
    computed once."""

    kind = "sentence"
    suffix = ".npy"
    given_inline = True

    def __init__(self, name: str = "sentence") -> None:
        super().__init__(name)
        self.features = SentenceFeatures()

    @property
    def spec(self) -> ModalitySpec:
        return ModalitySpec(
            name=self.name, kind="vector", shape=(self.features.dim,), likelihood="gaussian"
        )

    def load(self, path: str | Path) -> str:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: cannot read text ({err})") from err

    def preprocess(self, raw: Any) -> Tensor:
        return self.preprocess_many([raw])[0]

    def preprocess_many(self, raws: Sequence[Any] | np.ndarray) -> Tensor:
        texts = list(raws)
        if not texts:
            return torch.zeros((0, *self.spec.shape))
        if not all(isinstance(t, str) for t in texts):
            raise DataError(f"sentence {self.name!r}: expects strings")
        unique = list(dict.fromkeys(texts))
        vectors = self.features(unique)  # (U, 384)
        position = {t: i for i, t in enumerate(unique)}
        return vectors[torch.tensor([position[t] for t in texts])]  # (N, 384)

    def postprocess(self, x: Tensor) -> np.ndarray:
        return x.detach().float().cpu().numpy().reshape(self.features.dim)

    def save(self, raw: Any, path: str | Path) -> Path:
        target = self._target(path)
        np.save(target, np.asarray(raw, dtype=np.float32))
        return target

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SentenceModality:
        return cls(state["name"])
