"""Preprocessed data sets on disk (safetensors + JSON), keyed by a fingerprint of name and options.

Building a data set decodes images, tokenises texts and computes mels; the cache makes the second
load a file read. Nothing pickled is written, so loading never executes code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.modalities import Modality

FORMAT_VERSION = 2
"""Bump when preprocessing changes, so old caches stop matching (2: text lengths fitted to the
corpus)."""


def fingerprint(name: str, options: dict[str, Any], extra: str = "") -> str:
    """Stable hash of name, options (minus ``cache``), format version and ``extra`` (e.g. file hashes)."""
    key = {k: v for k, v in options.items() if k != "cache"}
    text = json.dumps([name, key, FORMAT_VERSION, extra], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path:
    """``$MMLATENT_CACHE/datasets`` if set, else ``~/.cache/mmlatent/datasets``."""
    base = os.environ.get("MMLATENT_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "mmlatent") / "datasets"


def save(data: MultimodalData, folder: Path) -> None:
    """Write ``data`` atomically: a half-written cache is never read."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    tensors = {"labels": data.labels.contiguous()}
    tensors |= {f"data.{m}": t.contiguous() for m, t in data.tensors.items()}
    tensors |= {f"mask.{m}": k.contiguous() for m, k in data.masks.items()}
    tensors |= {f"split.{s}": i.contiguous() for s, i in data.splits.items()}
    save_file(tensors, str(tmp / "tensors.safetensors"))
    meta = {
        "name": data.name,
        "format_version": FORMAT_VERSION,
        "fingerprint": data.fingerprint,
        "options": data.options,
        "label_names": data.label_names,
        "modalities": {m: mod.state() for m, mod in data.modalities.items()},
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)


def load(folder: Path) -> MultimodalData:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tensors = load_file(str(folder / "tensors.safetensors"))
    names = list(meta["modalities"])
    return MultimodalData(
        name=meta["name"],
        modalities={m: Modality.from_state(meta["modalities"][m]) for m in names},
        tensors={m: tensors[f"data.{m}"] for m in names},
        masks={m: tensors[f"mask.{m}"] for m in names},
        labels=tensors["labels"],
        splits={k.removeprefix("split."): v for k, v in tensors.items() if k.startswith("split.")},
        label_names=meta["label_names"],
        options=meta["options"],
        fingerprint=meta["fingerprint"],
    )


def cached(
    name: str,
    options: dict[str, Any],
    build: Callable[[], MultimodalData],
    *,
    cache: bool,
    extra: str = "",
) -> MultimodalData:
    """Load ``name`` built with ``options`` from the cache, or build it (and store it if ``cache``)."""
    key = fingerprint(name, options, extra)
    folder = cache_root() / key
    if cache and (folder / "meta.json").is_file():
        return load(folder)
    data = build()
    data.options, data.fingerprint = dict(options), key
    if cache:
        save(data, folder)
    return data
