"""The ratings store and its statistics, against scipy's intervals; `mmlatent ratings`."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mmlatent.cli import main
from mmlatent.serve.ratings import (
    Judgement,
    RatingStore,
    opinion_scores,
    preferences,
    t_interval,
    wilson_interval,
)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (8, 10), (3, 17), (50, 100), (99, 100)])
def test_wilson_interval_matches_scipy(k, n):
    reference = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    np.testing.assert_allclose(wilson_interval(k, n), (reference.low, reference.high), atol=1e-9)


def test_t_interval_matches_scipy_and_needs_two_values():
    values = [4.0, 3.0, 5.0, 4.0, 2.0]
    reference = stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values)
    )
    np.testing.assert_allclose(t_interval(values), reference)
    assert t_interval([4.0]) is None


def pref(a: str, b: str, choice: str, modality: str = "image") -> Judgement:
    return Judgement("ann", "t", "text", modality, a, b, choice)


def test_preferences_count_wins_whichever_side_a_system_was_shown_on():
    judgements = [
        pref("run", "real", "a"),  # run wins, shown as A
        pref("real", "run", "b"),  # run wins, shown as B
        pref("real", "run", "a"),  # real wins
        pref("run", "real", "same"),
        pref("run", "real", "b", modality="audio"),
    ]
    image, audio = sorted(preferences(judgements), key=lambda p: p.modality != "image")
    assert (image.first, image.second) == ("real", "run")
    assert (image.first_wins, image.second_wins, image.same, image.n) == (1, 2, 1, 4)
    assert image.share == pytest.approx(1 / 3)
    assert image.interval == wilson_interval(1, 3)
    assert (audio.first_wins, audio.second_wins) == (1, 0)


def test_opinion_scores_average_per_system():
    judgements = [Judgement("ann", "t", "text", "audio", "run", score=s) for s in (2, 4, 3)]
    judgements.append(Judgement("bob", "t", "text", "audio", "real", score=5))
    real, run = opinion_scores(judgements)
    assert (run.system, run.n, run.mean) == ("run", 3, 3.0)
    assert run.interval == t_interval([2.0, 4.0, 3.0])
    assert (real.n, real.interval) == (1, None)


def test_a_bad_judgement_stores_nothing_of_its_submission(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    good = pref("run", "real", "a")
    with pytest.raises(ValueError, match="opinion score is 1 to 5"):
        store.add([good, Judgement("ann", "t", "text", "audio", "run", score=6)])
    with pytest.raises(ValueError, match="type your name"):
        store.add([Judgement(" ", "t", "text", "image", "run", "real", "a")])
    assert store.count() == 0
    store.add([good, good])
    assert store.all() == [good, good] and store.count("ann") == 2 and store.count("bob") == 0
    assert store.count(kind="opinion") == 0


def test_ratings_command_prints_shares_and_scores(tmp_path, capsys):
    store = RatingStore.for_run(tmp_path)
    store.add([pref("run", "real", "a"), pref("run", "real", "b"), pref("run", "real", "a")])
    store.add([Judgement("bob", "t", "text", "audio", "run", score=s) for s in (3, 4)])
    assert main(["ratings", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    low, high = wilson_interval(1, 3)
    assert "5 judgements by 2 raters" in out
    assert f"image: real over run: 0.333 [{low:.3f}, {high:.3f}]" in out
    assert "audio: run: 3.50" in out


def test_ratings_command_without_ratings_says_so(tmp_path, capsys):
    assert main(["ratings", str(tmp_path)]) == 2
    assert "rate in `mmlatent serve` first" in capsys.readouterr().err
