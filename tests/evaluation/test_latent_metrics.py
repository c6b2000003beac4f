"""Probes, clustering scores, dimension activity and the typed result, against oracles."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from evaluation_fakes import OracleModel, make_data, oracle_judges
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler

from mmlatent.evaluation import EvaluationResult, evaluate
from mmlatent.evaluation.interpret import (
    interpolation_codes,
    pca_2d,
    traversal_codes,
    traversal_values,
)
from mmlatent.evaluation.metrics import adjusted_rand_index, normalized_mutual_info
from mmlatent.evaluation.probes import kmeans_scores, linear_probe_accuracy


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    centres = rng.normal(size=(4, 6)) * 1.5
    return centres[labels] + rng.normal(size=(n, 6)), labels


def test_linear_probe_matches_scikit_learn_on_the_same_codes() -> None:
    codes, labels = blobs(500, 0)
    (xa, ya), (xb, yb) = (codes[:300], labels[:300]), (codes[300:], labels[300:])
    scaler = StandardScaler().fit(xa)
    oracle = LogisticRegression(max_iter=200, random_state=0).fit(scaler.transform(xa), ya)
    expected = float((oracle.predict(scaler.transform(xb)) == yb).mean())
    assert linear_probe_accuracy(xa, ya, xb, yb) == pytest.approx(expected)
    assert 0.5 < expected < 1.0  # a case where the probe is neither trivial nor hopeless


@pytest.mark.parametrize("seed", range(4))
def test_nmi_and_ari_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, 200)
    noisy = np.where(rng.random(200) < 0.3, rng.integers(0, 7, 200), truth + 10)  # renamed, noisy
    t, p = torch.as_tensor(truth), torch.as_tensor(noisy)
    assert normalized_mutual_info(t, p) == pytest.approx(normalized_mutual_info_score(truth, noisy))
    assert adjusted_rand_index(t, p) == pytest.approx(adjusted_rand_score(truth, noisy))


@pytest.mark.parametrize(
    ("truth", "pred"),
    [([0, 0, 0], [1, 1, 1]), ([0, 1, 2], [0, 0, 0]), ([0, 1, 0, 1], [5, 6, 5, 6]), ([3], [3])],
)
def test_clustering_scores_agree_with_scikit_learn_on_degenerate_cases(truth, pred) -> None:
    t, p = torch.tensor(truth), torch.tensor(pred)
    assert normalized_mutual_info(t, p) == pytest.approx(normalized_mutual_info_score(truth, pred))
    assert adjusted_rand_index(t, p) == pytest.approx(adjusted_rand_score(truth, pred))


def test_kmeans_recovers_well_separated_blobs() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 300)
    codes = 10 * np.eye(6)[labels] + rng.normal(size=(300, 6))  # centres 14 std apart
    scores = kmeans_scores(codes, labels, 4)
    assert scores.nmi > 0.9 and scores.ari > 0.9


def test_evaluate_probes_every_posterior_and_round_trips_through_json() -> None:
    data = make_data()
    model = OracleModel(data.specs)
    result = evaluate(model, data, oracle_judges(), n_unconditional=20, likelihood_k=0)
    assert result.probes is not None
    assert set(result.probes.accuracy) == {"image", "text", "audio", "joint"}
    assert result.probes.accuracy["joint"] == 1.0  # the oracle's codes are one-hot labels
    assert result.probes.clustering["joint"].ari == pytest.approx(1.0)
    assert result.activity is not None and result.activity.n_active == 4
    assert result.likelihood is None  # k = 0 skips it
    text = json.dumps(result.to_dict())
    back = EvaluationResult.from_dict(json.loads(text))
    back.timings = result.timings
    assert back == result


def test_from_dict_keeps_keys_it_does_not_know() -> None:
    d = {"split": "test", "n_samples": 3, "reconstruction": {}, "fid": {"gmm": 12.5}}
    result = EvaluationResult.from_dict(d)
    assert result.extra == {"fid": {"gmm": 12.5}}
    assert result.to_dict()["fid"] == {"gmm": 12.5}


def test_unlabelled_data_skip_probes_with_a_note() -> None:
    data = make_data(labelled=False)
    result = evaluate(OracleModel(data.specs), data, {}, n_unconditional=10, likelihood_k=0)
    assert result.probes is None
    assert any("probes" in note for note in result.notes)


def test_traversal_and_interpolation_codes() -> None:
    base = torch.tensor([0.5, -1.0, 2.0])
    codes = traversal_codes(base, 1, [-1.0, 0.0, 1.0])
    assert codes[:, 1].tolist() == [-1.0, 0.0, 1.0]
    assert (codes[:, [0, 2]] == base[[0, 2]]).all()
    assert traversal_values(1.0, 0.5, 3) == pytest.approx([-0.5, 1.0, 2.5])
    line = interpolation_codes(torch.zeros(2), torch.tensor([2.0, 4.0]), 3)
    assert line.tolist() == [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    with pytest.raises(ValueError, match="outside the latent space"):
        traversal_codes(base, 3, [0.0])


def test_pca_map_keeps_the_direction_of_largest_variance() -> None:
    g = torch.Generator().manual_seed(0)
    codes = torch.randn(200, 5, generator=g) * torch.tensor([0.1, 5.0, 0.1, 1.0, 0.1])
    points = pca_2d(codes)
    assert points.shape == (200, 2)
    assert torch.corrcoef(torch.stack([points[:, 0], codes[:, 1]]))[0, 1].abs() > 0.99
