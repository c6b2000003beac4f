"""FID, KID, precision/recall and mode coverage through a judge's features; the sampler table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from evaluation_fakes import N_CLASSES, SPECS, OracleModel, make_data, prototypes
from scipy import linalg
from torch import nn

from mmlatent.evaluation.fidelity import (
    JudgeFeatures,
    JudgeFidelity,
    LabelHistogram,
    ManifoldPrecisionRecall,
    mode_coverage,
    precision_recall,
)
from mmlatent.evaluation.judge_networks import build_judge_network
from mmlatent.evaluation.judges import Judge
from mmlatent.evaluation.sampler_comparison import compare_samplers
from mmlatent.types import ModalitySpec

IMAGE = ModalitySpec(name="image", kind="image", shape=(1, 28, 28), likelihood="bernoulli")


def cnn_judge(seed: int = 0) -> Judge:
    """The project's image judge network (untrained, seeded): its features still tell sets apart."""
    torch.manual_seed(seed)
    return Judge("image", IMAGE, build_judge_network(IMAGE, 10).eval(), 10, 1.0, 0)


def images(n: int, seed: int, brightness: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    blobs = torch.rand(n, 1, 7, 7, generator=g).repeat_interleave(4, -1).repeat_interleave(4, -2)
    return (blobs + brightness).clamp(0, 1)  # (n, 1, 28, 28)


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance written out (Heusel et al. 2017, eq. 6), as an oracle."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_judge_features_are_the_input_of_the_last_linear_layer():
    judge = cnn_judge()
    x = images(8, seed=0)
    features = JudgeFeatures(judge)(x)
    expected = judge.network[:-2](x)  # everything before Dropout and the last Linear
    assert features.shape == (8, JudgeFeatures(judge).num_features) == (8, 128)
    assert torch.allclose(features, expected)


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_a_shift():
    judge = cnn_judge()
    real = images(300, seed=1)
    scores = {}
    for name, fake in {
        "same": real,
        "other draw": images(300, seed=2),
        "brighter": images(300, seed=2, brightness=0.3),
    }.items():
        fidelity = JudgeFidelity(judge, max_samples=300, kid_subsets=10)
        fidelity.update_real(real)
        fidelity.update_fake(fake)
        scores[name] = fidelity.compute()
    assert abs(scores["same"]["fid"]) < 1e-3 and abs(scores["same"]["kid"]) < 1e-3
    assert scores["brighter"]["fid"] > 10 * scores["other draw"]["fid"] > 0
    assert scores["brighter"]["kid"] > 10 * abs(scores["other draw"]["kid"])


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # dead ReLU features: scipy's sqrtm copes
def test_fid_matches_the_formula_on_the_judge_features():
    judge = cnn_judge()
    real, fake = images(200, seed=3), images(200, seed=4, brightness=0.1)
    fidelity = JudgeFidelity(judge, max_samples=200, kid_subsets=5)
    fidelity.update_real(real)
    fidelity.update_fake(fake)
    features = JudgeFeatures(judge)
    expected = scipy_fid(features(real).double().numpy(), features(fake).double().numpy())
    assert fidelity.compute()["fid"] == pytest.approx(expected, rel=1e-3)


def test_reset_keeps_the_real_features():
    judge = cnn_judge()
    real, fake = images(100, seed=5), images(100, seed=6, brightness=0.3)
    fidelity = JudgeFidelity(judge, max_samples=100, kid_subsets=5)
    fidelity.update_real(real)
    fidelity.update_fake(fake)
    first = fidelity.compute()
    fidelity.reset()
    fidelity.update_fake(fake)
    assert fidelity.compute() == pytest.approx(first)


def test_precision_recall_on_overlapping_disjoint_and_half_covered_sets():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 2, generator=g), torch.randn(400, 2, generator=g)
    precision, recall = precision_recall(a, b)
    assert precision > 0.9 and recall > 0.9
    precision, recall = precision_recall(a, b + 100)
    assert precision == 0 and recall == 0
    # real: two far clusters; generated: only the first, so precise but half the recall
    real = torch.cat([a[:200], a[200:] + 50])
    precision, recall = precision_recall(real, b)
    assert precision > 0.9 and 0.4 < recall < 0.55


def test_precision_recall_metric_accumulates_batches():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(200, 3, generator=g), torch.randn(200, 3, generator=g) + 0.5
    metric = ManifoldPrecisionRecall(nn.Identity())
    for chunk in real.split(64):
        metric.update(chunk, real=True)
    for chunk in fake.split(50):
        metric.update(chunk, real=False)
    out = metric.compute()
    expected = precision_recall(real, fake)
    assert float(out["precision"]) == pytest.approx(float(expected[0]))
    assert float(out["recall"]) == pytest.approx(float(expected[1]))


def test_mode_coverage_of_uniform_collapsed_and_partial_labels():
    uniform = mode_coverage(torch.tensor([25, 25, 25, 25]))
    assert uniform["normalised_entropy"] == pytest.approx(1.0) and uniform["modes_covered"] == 4
    collapsed = mode_coverage(torch.tensor([100, 0, 0, 0]))
    assert collapsed["entropy"] == 0 and collapsed["modes_covered"] == 1
    # a class with 2 of 100 samples (under half the uniform 25) is not covered
    partial = mode_coverage(torch.tensor([49, 49, 2, 0]))
    assert partial["modes_covered"] == 2 and partial["histogram"] == [0.49, 0.49, 0.02, 0.0]
    histogram = LabelHistogram(4)
    histogram.update(torch.tensor([0, 1, 1, 3]))
    assert histogram.compute()["histogram"] == [0.25, 0.5, 0.0, 0.25]


def linear_judges() -> dict[str, Judge]:
    """Perfect judges of the fake data with a linear head (nearest prototype as a dot product),
    so their penultimate features are the flattened input."""
    judges = {}
    for m, protos in prototypes().items():
        if m == "text" or m not in ("image", "audio"):
            continue
        flat = protos.flatten(1).float()  # (K, D)
        head = nn.Linear(flat.shape[1], N_CLASSES)
        with torch.no_grad():
            head.weight.copy_(flat)
            head.bias.copy_(-0.5 * flat.square().sum(1))
        judges[m] = Judge(m, SPECS[m], nn.Sequential(nn.Flatten(), head), N_CLASSES, 1.0, 0)
    return judges


def test_sampler_table_tells_a_collapsed_sampler_from_a_covering_one():
    data = make_data(n=400, noise=0.05)
    model = OracleModel({m: SPECS[m] for m in ("image", "audio")})
    judges = linear_judges()
    g = torch.Generator().manual_seed(0)
    draws = {
        "covering": lambda n: torch.eye(N_CLASSES)[torch.randint(N_CLASSES, (n,), generator=g)],
        "collapsed": lambda n: torch.eye(N_CLASSES)[torch.zeros(n, dtype=torch.long)],
    }
    table = compare_samplers(model, data, judges, draws, n=100, batch_size=32)
    good, bad = table["covering"], table["collapsed"]
    assert good["joint_coherence"] == bad["joint_coherence"] == 1.0
    assert good["mode_coverage"]["image"]["modes_covered"] == N_CLASSES
    assert bad["mode_coverage"]["image"]["modes_covered"] == 1
    for m in ("image", "audio"):  # (the oracle draws exact prototypes: k-NN recall is 0 for both)
        assert bad["fidelity"][m]["fid"] > good["fidelity"][m]["fid"] + 1


class ShiftedJudge:
    """A second judge that hears the first's label plus ``shift`` (mod the classes)."""

    def __init__(self, judge: Judge, shift: int) -> None:
        self.judge, self.shift = judge, shift

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return (self.judge.predict(x) + self.shift) % N_CLASSES


def test_second_judges_score_the_same_samples_of_every_sampler():
    data = make_data(n=200, noise=0.05)
    model = OracleModel({m: SPECS[m] for m in ("image", "audio")})
    judges = linear_judges()
    g = torch.Generator().manual_seed(0)
    draws = {"prior": lambda n: torch.eye(N_CLASSES)[torch.randint(N_CLASSES, (n,), generator=g)]}
    agree = {m: ShiftedJudge(j, 0) for m, j in judges.items()}
    split = {"image": agree["image"], "audio": ShiftedJudge(judges["audio"], 1)}
    table = compare_samplers(model, data, judges, draws, n=64, batch_size=32, second_judges=agree)
    assert table["prior"]["second_judge_joint_coherence"] == table["prior"]["joint_coherence"]
    table = compare_samplers(model, data, judges, draws, n=64, batch_size=32, second_judges=split)
    assert table["prior"]["joint_coherence"] == 1.0
    assert table["prior"]["second_judge_joint_coherence"] == 0.0  # they never agree on a label
    alone = compare_samplers(model, data, judges, draws, n=64, batch_size=32)
    assert "second_judge_joint_coherence" not in alone["prior"]


def test_too_few_samples_for_knn_radii_give_nan_not_an_error():
    metric = ManifoldPrecisionRecall(nn.Identity())
    metric.update(torch.randn(3, 2), real=True)
    metric.update(torch.randn(50, 2), real=False)
    out = metric.compute()
    assert torch.isnan(out["precision"]) and torch.isnan(out["recall"])
