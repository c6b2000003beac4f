"""Captions for digit images: several phrasings per digit, so text is not a one-to-one code of the label."""

from __future__ import annotations

import numpy as np

DIGIT_NAMES: list[str] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
]

TEMPLATES: tuple[str, ...] = (
    "a handwritten {name}",
    "the digit {digit}",
    "number {name}, written by hand",
    "{name}",
    "a picture of the number {digit}",
    "the number {name}",
    "a {digit} drawn by hand",
    "digit {name}",
)


def digit_captions(labels: np.ndarray, rng: np.random.Generator) -> list[str]:
    """One caption per label, the template drawn from ``rng``; each names the label's digit."""
    choice = rng.integers(len(TEMPLATES), size=len(labels))
    return [
        TEMPLATES[t].format(name=DIGIT_NAMES[d], digit=d)
        for t, d in zip(choice.tolist(), labels.tolist(), strict=True)
    ]
