"""The importance-sampled log-likelihood every latent model inherits (the IWAE bound)."""

import math

import pytest
import torch

from mmlatent.latent import Gaussian
from mmlatent.models import build_model

from .contract import SPECS, full_mask, make_batch

OPTIONS = {"latent_dim": 4, "hidden_dim": 16, "rescale": "none"}


def test_one_sample_is_the_single_draw_elbo_computed_by_hand() -> None:
    torch.manual_seed(0)
    model = build_model("mopoe", SPECS, OPTIONS).eval()
    data = make_batch()
    mask = full_mask(data)
    torch.manual_seed(5)
    got = model.importance_log_likelihood(data, mask, k=1)
    torch.manual_seed(5)
    posterior = model.encode(data, mask)
    z = posterior.mean + posterior.std * torch.randn(1, *posterior.mean.shape)
    params = model.decode(z[0], list(data), inputs=data)
    loglik = model.log_likelihoods(params, data, torch.ones(8, 4, dtype=torch.bool)).sum(-1)
    prior = Gaussian(torch.zeros_like(z[0]), torch.zeros_like(z[0]))
    want = loglik + prior.log_prob(z[0]) - posterior.log_prob(z[0])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)


def test_more_samples_tighten_the_bound_on_average() -> None:
    torch.manual_seed(0)
    model = build_model("mopoe", SPECS, OPTIONS).eval()
    data = make_batch(batch=16)
    mask = full_mask(data)
    torch.manual_seed(1)
    one = torch.stack([model.importance_log_likelihood(data, mask, k=1) for _ in range(20)])
    many = model.importance_log_likelihood(data, mask, k=64)
    assert many.mean() > one.mean()  # IWAE: E[log mean of K weights] rises with K
    assert torch.isfinite(many).all() and (many < 0).all()


def test_absent_modalities_are_left_out_of_the_likelihood() -> None:
    torch.manual_seed(0)
    model = build_model("mopoe", SPECS, OPTIONS).eval()
    data = make_batch()
    mask = full_mask(data)
    mask["audio"][:] = False
    noisy = dict(data, audio=torch.full_like(data["audio"], math.nan))
    torch.manual_seed(2)
    a = model.importance_log_likelihood(noisy, mask, k=8)
    torch.manual_seed(2)
    b = model.importance_log_likelihood(
        {m: x for m, x in data.items() if m != "audio"},
        {m: v for m, v in mask.items() if m != "audio"},
        k=8,
    )
    torch.testing.assert_close(a, b)


def test_k_must_be_positive() -> None:
    model = build_model("mopoe", SPECS, OPTIONS)
    data = make_batch()
    with pytest.raises(ValueError, match="k must be"):
        model.importance_log_likelihood(data, full_mask(data), k=0)
