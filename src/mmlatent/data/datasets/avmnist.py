"""``avmnist``: MNIST (IDX files) paired with Free Spoken Digit Dataset recordings and captions.

Each MNIST image gets an FSDD clip of the same digit from the same official split (FSDD takes 0-4
are its test set), drawn with a fixed seed; clips are reused as needed, since FSDD is smaller.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from mmlatent.data.audio import load_wav
from mmlatent.data.datasets.assemble import full_column, labels_tensor, spoken_and_captioned
from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.datasets.cache import cached
from mmlatent.data.datasets.captions import DIGIT_NAMES, digit_captions
from mmlatent.data.datasets.idx import read_mnist
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import AudioModality, ImageModality, TextModality
from mmlatent.registry import register_dataset

FSDD_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
FSDD_TEST_TAKES = range(5)


def default_root() -> Path:
    """``<repo>/../shared/data``, looked for above the working directory and above this file."""
    starts = [Path.cwd(), Path(__file__).resolve()]
    for start in starts:
        for folder in [start, *start.parents]:
            if (folder / "pyproject.toml").is_file() and (
                folder.parent / "shared" / "data"
            ).is_dir():
                return folder.parent / "shared" / "data"
    raise DataError("avmnist: no ../shared/data found next to the project; pass root=FOLDER")


def fsdd_files(folder: Path) -> dict[str, list[tuple[int, Path]]]:
    """FSDD recordings by official split: ``{"train"|"test": [(digit, path), ...]}``, sorted."""
    if not folder.is_dir():
        raise DataError(f"{folder}: FSDD recordings folder not found")
    out: dict[str, list[tuple[int, Path]]] = {"train": [], "test": []}
    for path in sorted(folder.glob("*.wav")):
        match = FSDD_NAME.match(path.name)
        if match is None:
            raise DataError(f"{path}: not an FSDD name '{{digit}}_{{speaker}}_{{take}}.wav'")
        split = "test" if int(match[3]) in FSDD_TEST_TAKES else "train"
        out[split].append((int(match[1]), path))
    for split, files in out.items():
        missing = set(range(10)) - {d for d, _ in files}
        if missing:
            raise DataError(
                f"{folder}: FSDD {split} split has no clips of digits {sorted(missing)}"
            )
    return out


def pair_clips(labels: np.ndarray, clip_digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index into the clips for each label: a seeded shuffle of that digit's clips, cycled."""
    out = np.empty(len(labels), dtype=np.int64)
    for d in range(10):
        rows = np.flatnonzero(labels == d)
        pool = rng.permutation(np.flatnonzero(clip_digits == d))
        out[rows] = pool[np.arange(len(rows)) % len(pool)]
    return out


def _split(
    root: Path,
    mnist_split: str,
    clips: list[tuple[int, Path]],
    limit: int | None,
    audio: AudioModality,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[str], torch.Tensor]:
    """Images, labels, captions and paired mels of one official split (mel computed once per clip)."""
    images, labels = read_mnist(root / "mnist", mnist_split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    clip_digits = np.array([d for d, _ in clips])
    pairs = pair_clips(labels, clip_digits, rng)
    used = np.unique(pairs)
    mels = audio.preprocess_many([load_wav(clips[i][1]) for i in used.tolist()])  # (U, 1, M, F)
    position = np.searchsorted(used, pairs)
    return images, labels, digit_captions(labels, rng), mels[torch.from_numpy(position)]


def _build(
    root: Path,
    seed: int,
    val_fraction: float,
    limits: tuple[int | None, int | None],
    audio: AudioModality,
    text: TextModality,
) -> MultimodalData:
    rng = np.random.default_rng(seed)
    limit_train, limit_test = limits
    clips = fsdd_files(root / "fsdd" / "recordings")
    train = _split(root, "train", clips["train"], limit_train, audio, rng)
    test = _split(root, "t10k", clips["test"], limit_test, audio, rng)
    n_train, n_test = len(train[1]), len(test[1])

    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))
    n_val = round(n_train * val_fraction)
    splits = {
        "train": order[n_val:].sort().values,
        "val": order[:n_val].sort().values,
        "test": torch.arange(n_train, n_train + n_test),
    }
    texts = train[2] + test[2]
    image = ImageModality()
    text.fit([texts[i] for i in splits["train"].tolist()])
    columns = {
        "image": full_column(image, np.concatenate([train[0], test[0]])),
        "text": full_column(text, texts),
    }
    tensors = {m: x for m, (x, _) in columns.items()} | {"audio": torch.cat([train[3], test[3]])}
    return MultimodalData(
        name="avmnist",
        modalities={"image": image, "text": text, "audio": audio},
        tensors=tensors,
        masks={m: torch.ones(len(x), dtype=torch.bool) for m, x in tensors.items()},
        labels=labels_tensor(np.concatenate([train[1], test[1]])),
        splits=splits,
        label_names=list(DIGIT_NAMES),
    )


@register_dataset("avmnist")
def avmnist(
    *,
    root: str | Path | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    limit_train: int | None = None,
    limit_test: int | None = None,
    audio_frames: int = 32,
    audio_hop_length: int = 256,
    text_max_len: int | None = None,
    cache: bool = True,
) -> MultimodalData:
    """MNIST + FSDD + captions with the official train/test splits; val carved from train.

    The log-mel grid is 32 mels by ``audio_frames``, spanning ``audio_frames`` x
    ``audio_hop_length`` samples (0.99 s at 8 kHz, longer than 99% of FSDD's clips).
    ``text_max_len`` fixes the caption length (``None``: fitted to the captions).
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    folder = Path(root) if root is not None else default_root()
    options = {
        "root": None if root is None else str(root),
        "seed": seed,
        "val_fraction": val_fraction,
        "limit_train": limit_train,
        "limit_test": limit_test,
    }
    audio, text = spoken_and_captioned(
        options,
        audio_frames=audio_frames,
        audio_hop_length=audio_hop_length,
        text_max_len=text_max_len,
    )
    limits = (limit_train, limit_test)
    build = lambda: _build(folder, seed, val_fraction, limits, audio, text)  # noqa: E731
    return cached("avmnist", options, build, cache=cache, extra=str(folder.resolve()))
