"""Atomic file writes: a temporary sibling, flushed to disk, then renamed over the target.

A run killed mid-write (``kill -9``, a full disk, a pre-empted job) then leaves either the old
file or the new one, never half a file that looks whole: ``os.replace`` is atomic on POSIX and
Windows when both names are on the same file system, which a sibling guarantees.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` to fill a temporary sibling of ``path``, then rename it to ``path``.

    ``write`` gets a path (not a handle), so libraries that open files themselves (safetensors,
    ``torch.save``, Pillow) can write atomically too. On any error the temporary file is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def commit(tmp: str | Path, path: str | Path) -> None:
    """Make a fully written temporary file ``tmp`` visible as ``path`` in one step."""
    _fsync(Path(tmp))
    os.replace(tmp, path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """``Path.write_text``, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """``Path.write_bytes``, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _fsync(path: Path) -> None:
    """Push the file's bytes to disk before the rename makes it visible (else a power cut can
    leave the new name pointing at an empty file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
