"""Blind human ratings: one SQLite row per judgement, and their statistics with 95% intervals.

Two kinds of judgement: a *preference* between two items shown as A and B (``a``, ``b`` or
``same``), and an *opinion* score of one item from 1 (bad) to 5 (excellent), the mean opinion
score (MOS) of ITU-T P.800 used for audio. Systems are named plainly (``real``, a run's folder
name) in the database; the page only ever shows A and B.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from scipy import stats

RATINGS_FILE = "ratings.sqlite"
CHOICES = ("a", "b", "same")
SCORES = (1, 2, 3, 4, 5)
Z_95 = 1.959963984540054
"""The standard normal's 97.5% quantile: two-sided 95% intervals."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS judgements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rated_at TEXT NOT NULL,
    rater TEXT NOT NULL,
    task TEXT NOT NULL,
    source TEXT NOT NULL,
    modality TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('preference', 'opinion')),
    system_a TEXT NOT NULL,
    system_b TEXT,
    choice TEXT CHECK (choice IN ('a', 'b', 'same')),
    score INTEGER CHECK (score BETWEEN 1 AND 5)
)
"""


@dataclass(frozen=True)
class Judgement:
    """One row: ``rater`` judged ``modality`` items generated from a ``source`` input in ``task``.

    A preference has ``system_b`` and ``choice``; an opinion scores ``system_a`` alone.
    """

    rater: str
    task: str
    source: str
    modality: str
    system_a: str
    system_b: str | None = None
    choice: str | None = None
    score: int | None = None

    @property
    def kind(self) -> str:
        return "opinion" if self.score is not None else "preference"

    def check(self) -> None:
        if not self.rater.strip():
            raise ValueError("type your name before rating")
        if self.score is not None:
            if self.score not in SCORES or self.choice is not None:
                raise ValueError(f"an opinion score is 1 to 5, got {self.score!r}")
        elif self.choice not in CHOICES or not self.system_b:
            raise ValueError(f"a preference is one of {CHOICES} between two items")


class RatingStore:
    """The ratings of one run, in ``<run>/ratings.sqlite`` (one connection per call: threads safe)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self._connect() as db:
            db.execute(SCHEMA)

    @classmethod
    def for_run(cls, run_dir: str | Path) -> RatingStore:
        return cls(Path(run_dir) / RATINGS_FILE)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def add(self, judgements: list[Judgement]) -> None:
        """Store every judgement of one submission in one transaction, or none if any is bad."""
        for j in judgements:
            j.check()
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [
            (
                now,
                j.rater.strip(),
                j.task,
                j.source,
                j.modality,
                j.kind,
                j.system_a,
                j.system_b,
                j.choice,
                j.score,
            )
            for j in judgements
        ]
        with self._connect() as db:
            db.executemany(
                "INSERT INTO judgements (rated_at, rater, task, source, modality, kind, "
                "system_a, system_b, choice, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def all(self) -> list[Judgement]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT rater, task, source, modality, system_a, system_b, choice, score "
                "FROM judgements ORDER BY id"
            ).fetchall()
        return [Judgement(*row) for row in rows]

    def count(self, rater: str | None = None, kind: str | None = None) -> int:
        """Judgements stored, of one rater and one kind where given."""
        query = "SELECT COUNT(*) FROM judgements WHERE (?1 IS NULL OR rater = ?1)"
        query += " AND (?2 IS NULL OR kind = ?2)"
        with self._connect() as db:
            rater = None if rater is None else rater.strip()
            return int(db.execute(query, (rater, kind)).fetchone()[0])


# --- statistics --------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927): sound at small n and near 0 or 1,
    where the plain normal interval leaves [0, 1] or collapses to a point."""
    if n <= 0:
        raise ValueError("an interval needs at least one trial")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval of a mean; ``None`` below two values (no spread to estimate)."""
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


@dataclass(frozen=True)
class Preference:
    """How often ``first`` beat ``second`` on ``modality``; ``share`` counts decided pairs only."""

    modality: str
    first: str
    second: str
    first_wins: int
    second_wins: int
    same: int

    @property
    def n(self) -> int:
        return self.first_wins + self.second_wins + self.same

    @property
    def decided(self) -> int:
        return self.first_wins + self.second_wins

    @property
    def share(self) -> float | None:
        return self.first_wins / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.first_wins, self.decided) if self.decided else None


@dataclass(frozen=True)
class OpinionScore:
    """Mean opinion score of ``system`` on ``modality`` with its 95% t interval."""

    modality: str
    system: str
    n: int
    mean: float
    interval: tuple[float, float] | None


def preferences(judgements: list[Judgement]) -> list[Preference]:
    """Preference counts per modality and pair of systems (pairs in a fixed, sorted order)."""
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for j in judgements:
        if j.kind != "preference" or j.system_b is None:
            continue
        first, second = sorted((j.system_a, j.system_b))
        tally = counts[(j.modality, first, second)]
        if j.choice == "same":
            tally[2] += 1
        else:
            winner = j.system_a if j.choice == "a" else j.system_b
            tally[0 if winner == first else 1] += 1
    return [Preference(m, a, b, *tally) for (m, a, b), tally in sorted(counts.items())]


def opinion_scores(judgements: list[Judgement]) -> list[OpinionScore]:
    """Mean opinion score per modality and system."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for j in judgements:
        if j.kind == "opinion" and j.score is not None:
            scores[(j.modality, j.system_a)].append(float(j.score))
    return [
        OpinionScore(m, s, len(v), sum(v) / len(v), t_interval(v))
        for (m, s), v in sorted(scores.items())
    ]
