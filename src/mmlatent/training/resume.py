"""What a resumable checkpoint holds beyond Lightning's own state, and how it is read safely.

Lightning saves weights, optimiser, scheduler, loop counters (epoch, step, place in the epoch)
and callback states (early stopping, best checkpoint). Bitwise-identical resumption also needs
the random number generators, captured here as plain tensors and lists, so the checkpoint still
loads with ``torch.load(weights_only=True)``: no pickled code is ever run, and a file that holds
some is refused with a message.
"""

from __future__ import annotations

import csv
import io
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmlatent.atomic import atomic_write_text

REQUIRED_KEYS = ("state_dict", "loops", "optimizer_states", "callbacks", "epoch", "global_step")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, tampered with or incomplete; the message names it."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint with ``weights_only=True`` and check it is a resumable one.

    A file holding pickled objects other than tensors and plain containers (code that would run
    on loading) is refused, as is a truncated file or one lacking the training state.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint there")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path}: refused: it holds pickled objects that loading would run ({first_line}); "
            "only checkpoints written by `mmlatent fit` resume"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({err})") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: not a Lightning checkpoint (a {type(checkpoint).__name__})")
    missing = [k for k in REQUIRED_KEYS if k not in checkpoint]
    if missing:
        raise CheckpointError(f"{path}: not a resumable checkpoint; it lacks {', '.join(missing)}")
    return checkpoint


def rng_states() -> dict[str, Any]:
    """Every generator training draws from, as tensors and lists (``weights_only``-loadable)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, python_state, gauss = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
        "python": [version, list(python_state), gauss],
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` captured."""
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, python_state, gauss = states["python"]
    random.setstate((version, tuple(python_state), gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def rows_before(log_csv: Path, step: int) -> list[dict[str, str]]:
    """The rows of Lightning's CSV log written before ``step``: its CSVLogger empties the file
    when a run resumes, so they are kept aside and put back by :func:`put_back`."""
    if not log_csv.is_file():
        return []
    with log_csv.open(newline="") as f:
        return [row for row in csv.DictReader(f) if _step(row) < step]


def put_back(log_csv: Path, earlier: list[dict[str, str]]) -> None:
    """Rewrite ``log_csv`` as ``earlier`` rows then its own, over the union of their columns."""
    if not earlier:
        return
    later: list[dict[str, str]] = []
    if log_csv.is_file():
        with log_csv.open(newline="") as f:
            later = list(csv.DictReader(f))
    columns = list(dict.fromkeys(k for row in (*earlier, *later) for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows([*earlier, *later])
    atomic_write_text(log_csv, buffer.getvalue())


def _step(row: dict[str, str]) -> int:
    try:
        return int(float(row.get("step") or -1))
    except ValueError:
        return -1
