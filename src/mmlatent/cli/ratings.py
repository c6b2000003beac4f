"""``mmlatent ratings``: the blind ratings collected by ``mmlatent serve``, with 95% intervals."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ratings", help="preference shares and mean opinion scores of a run")
    p.add_argument("run", type=Path)
    p.set_defaults(handler=cmd_ratings)


def interval_text(interval: tuple[float, float] | None) -> str:
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "n/a (too few)"


def ratings_lines(run_dir: Path) -> list[str]:
    """The report as lines: preferences (Wilson intervals), then opinion scores (t intervals)."""
    from mmlatent.serve.ratings import RATINGS_FILE, RatingStore, opinion_scores, preferences

    if not (run_dir / RATINGS_FILE).is_file():
        raise FileNotFoundError(
            f"{run_dir / RATINGS_FILE} is missing: rate in `mmlatent serve` first"
        )
    judgements = RatingStore.for_run(run_dir).all()
    raters = len({j.rater for j in judgements})
    lines = [f"{len(judgements)} judgements by {raters} raters in {run_dir / RATINGS_FILE}", ""]
    lines.append("preference (share of decided pairs won by the first, 95% Wilson interval)")
    for p in preferences(judgements):
        share = "n/a" if p.share is None else f"{p.share:.3f}"
        lines.append(
            f"  {p.modality}: {p.first} over {p.second}: {share} {interval_text(p.interval)}"
            f"  (n={p.n}: {p.first_wins} won, {p.second_wins} lost, {p.same} same)"
        )
    lines += ["", "mean opinion score, 1-5 (95% t interval)"]
    for s in opinion_scores(judgements):
        lines.append(
            f"  {s.modality}: {s.system}: {s.mean:.2f} {interval_text(s.interval)}  (n={s.n})"
        )
    return lines


def cmd_ratings(args: argparse.Namespace) -> int:
    print("\n".join(ratings_lines(args.run)))
    return 0
