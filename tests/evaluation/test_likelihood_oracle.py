"""The likelihood estimator against a model whose likelihood is known exactly.

A linear-Gaussian VAE: p(z) = N(0, I), p(x_m | z) = N(W_m z + b_m, s^2 I) for two modalities, so
the marginal of any set of modalities is N(b, W W^T + s^2 I) over the stacked rows of W and b.
Its experts are the exact likelihood terms in z (W_m has orthogonal columns), so MVAE's product
of experts with the prior *is* the true posterior: then every importance weight equals p(x), and
a deliberately wrong proposal must tighten toward p(x) as K grows.
"""

from __future__ import annotations

import math

import pytest
import torch
from evaluation_fakes import FakeModality
from torch import Tensor, nn

from mmlatent.data.datasets.base import MultimodalData, random_splits
from mmlatent.evaluation.likelihood import likelihood_scores, subset_log_likelihoods
from mmlatent.models.mvae import MVAE, MVAEConfig
from mmlatent.types import ModalitySpec

D, X, SIGMA, N = 2, 3, 0.5, 240
NAMES = ("a", "b")


class LinearDecoder(nn.Module):
    def __init__(self, weight: Tensor, bias: Tensor) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, z: Tensor) -> Tensor:
        return z @ self.weight.T + self.bias  # (B, X)


class ExactExpert(nn.Module):
    """The likelihood term of x in z: N(Q^T (x - b) / s, sigma^2 / s^2), optionally distorted."""

    def __init__(self, q: Tensor, scales: Tensor, bias: Tensor, *, shift: float, widen: float):
        super().__init__()
        self.q, self.scales, self.bias = q, scales, bias
        self.shift, self.widen = shift, widen

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean = (x - self.bias) @ self.q / self.scales + self.shift  # (B, D)
        logvar = torch.log(SIGMA**2 / self.scales**2) + math.log(self.widen)
        return mean, logvar.expand_as(mean)


def vector(name: str) -> FakeModality:
    return FakeModality(
        name, ModalitySpec(name=name, kind="vector", shape=(X,), likelihood="gaussian")
    )


def linear_gaussian(
    *, shift: float = 0.0, widen: float = 1.0
) -> tuple[MVAE, MultimodalData, Tensor]:
    """The model, data drawn from it, and the stacked (W, b) of its exact marginal."""
    g = torch.Generator().manual_seed(0)
    specs = {m: vector(m).spec for m in NAMES}
    model = MVAE(specs, MVAEConfig(latent_dim=D, obs_scale=SIGMA, rescale="none"))
    weights, biases = [], []
    for m in NAMES:
        q, _ = torch.linalg.qr(torch.randn(X, D, generator=g))  # (X, D) orthonormal columns
        scales = torch.rand(D, generator=g) + 0.5
        bias = torch.randn(X, generator=g)
        model.decoders[m] = LinearDecoder(q * scales, bias)
        model.encoders[m] = ExactExpert(q, scales, bias, shift=shift, widen=widen)
        weights.append(q * scales)
        biases.append(bias)
    w, b = torch.cat(weights), torch.cat(biases)  # (2X, D), (2X,)
    z = torch.randn(N, D, generator=g)
    x = z @ w.T + b + SIGMA * torch.randn(N, 2 * X, generator=g)  # (N, 2X)
    data = MultimodalData(
        name="linear-gaussian",
        modalities={m: vector(m) for m in NAMES},
        tensors={"a": x[:, :X], "b": x[:, X:]},
        masks={m: torch.ones(N, dtype=torch.bool) for m in NAMES},
        labels=torch.full((N,), -1),
        splits=random_splits(N, val_fraction=0.0, test_fraction=0.5, seed=0),
    )
    return model.eval(), data, torch.cat([w, b[:, None]], dim=1)


def exact_log_marginal(x: Tensor, wb: Tensor, columns: slice) -> Tensor:
    """log N(x; b, W W^T + sigma^2 I) over the chosen data columns: (N,)."""
    w, b = wb[columns, :-1], wb[columns, -1]
    cov = w @ w.T + SIGMA**2 * torch.eye(len(b))
    return torch.distributions.MultivariateNormal(b, cov).log_prob(x)


def exact(data: MultimodalData, wb: Tensor, rows: Tensor) -> dict[tuple[str, ...], Tensor]:
    x = torch.cat([data.tensors["a"][rows], data.tensors["b"][rows]], dim=1)
    return {
        ("a",): exact_log_marginal(x[:, :X], wb, slice(0, X)),
        ("b",): exact_log_marginal(x[:, X:], wb, slice(X, 2 * X)),
        ("a", "b"): exact_log_marginal(x, wb, slice(0, 2 * X)),
    }


def test_exact_posterior_gives_the_exact_likelihood_for_any_k() -> None:
    model, data, wb = linear_gaussian()
    rows = data.splits["test"]
    truth = exact(data, wb, rows)
    torch.manual_seed(0)
    for k in (1, 7):
        got = subset_log_likelihoods(model, data, rows, NAMES, k=k)
        for subset, value in truth.items():
            torch.testing.assert_close(got[subset], value, atol=1e-3, rtol=1e-4)


def test_joint_and_conditional_scores_match_the_closed_form() -> None:
    model, data, wb = linear_gaussian()
    rows = data.splits["test"]
    truth = exact(data, wb, rows)
    torch.manual_seed(0)
    result = likelihood_scores(model, data, k=3)
    assert result is not None and result.joint is not None
    assert result.joint.n == len(rows)
    assert result.joint.nll == pytest.approx(float(-truth[("a", "b")].mean()), abs=1e-3)
    b_given_a = -(truth[("a", "b")] - truth[("a",)])
    assert result.conditional["a->b"].nll == pytest.approx(float(b_given_a.mean()), abs=1e-3)
    expected_se = float(b_given_a.std() / math.sqrt(len(rows)))
    assert result.conditional["a->b"].se == pytest.approx(expected_se, rel=1e-3)
    assert set(result.conditional) == {"a->b", "b->a"}


def test_a_poor_proposal_tightens_toward_the_truth_as_k_grows() -> None:
    model, data, wb = linear_gaussian(shift=0.4, widen=3.0)
    rows = data.splits["test"]
    truth = float(exact(data, wb, rows)[("a", "b")].mean())
    torch.manual_seed(0)
    estimates = {
        k: float(-likelihood_scores(model, data, k=k).joint.nll) for k in (1, 10, 100, 2000)
    }  # type: ignore[union-attr]
    assert estimates[1] < estimates[10] < estimates[100] < estimates[2000] <= truth + 0.01
    assert truth - estimates[1] > 0.3  # the bound is visibly loose at K = 1 ...
    assert truth - estimates[2000] < 0.05  # ... and nearly exact with many draws


def test_k_must_be_positive() -> None:
    model, data, _ = linear_gaussian()
    with pytest.raises(ValueError, match="k must be >= 1"):
        likelihood_scores(model, data, k=0)
