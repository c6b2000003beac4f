import numpy as np
import pytest
import torch

from mmlatent.latent import (
    Gaussian,
    enumerate_subsets,
    mixture_of_subsets,
    product_of_experts,
    subset_matrix,
    usable_subsets,
)


def _closed_form_poe(
    mean: np.ndarray, logvar: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Precision-weighted product with a N(0, I) prior expert, in plain NumPy."""
    precision = 1.0 / np.exp(logvar) * mask[..., None]  # (B, M, D)
    joint_precision = 1.0 + precision.sum(1)
    joint_mean = (mean * precision).sum(1) / joint_precision
    return joint_mean, -np.log(joint_precision)


def test_poe_matches_closed_form_with_masked_expert_and_prior() -> None:
    rng = np.random.default_rng(0)
    mean, logvar = rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 3, 5))
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]], dtype=bool)
    got = product_of_experts(torch.tensor(mean), torch.tensor(logvar), torch.tensor(mask))
    want_mean, want_logvar = _closed_form_poe(mean, logvar, mask)
    np.testing.assert_allclose(got.mean.numpy(), want_mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got.logvar.numpy(), want_logvar, rtol=1e-6, atol=1e-8)
    # no expert at all: the prior itself
    np.testing.assert_allclose(got.mean[3].numpy(), 0.0)
    np.testing.assert_allclose(got.logvar[3].numpy(), 0.0)


def test_poe_ignores_nan_in_masked_experts_including_gradients() -> None:
    mean = torch.tensor([[[1.0], [float("nan")]]], requires_grad=True)  # (1, 2, 1)
    logvar = torch.tensor([[[0.0], [float("nan")]]], requires_grad=True)
    joint = product_of_experts(mean, logvar, torch.tensor([[True, False]]))
    torch.testing.assert_close(joint.mean, torch.tensor([[0.5]]))
    torch.testing.assert_close(joint.logvar, torch.tensor([[-np.log(2.0)]], dtype=torch.float32))
    (joint.mean + joint.logvar).sum().backward()
    assert torch.isfinite(mean.grad).all() and torch.isfinite(logvar.grad).all()


def test_poe_is_finite_for_extreme_experts() -> None:
    mean = torch.randn(2, 2, 3)
    logvar = torch.tensor([-200.0, 200.0]).view(1, 2, 1).expand(2, 2, 3)
    joint = product_of_experts(mean, logvar, torch.ones(2, 2, dtype=torch.bool))
    assert torch.isfinite(joint.mean).all() and torch.isfinite(joint.logvar).all()
    torch.testing.assert_close(joint.mean, mean[:, 0])  # the near-certain expert wins


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("all", [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"), ("a", "b", "c")]),
        ("full", [("a", "b", "c")]),
        ("singletons", [("a",), ("b",), ("c",)]),
    ],
)
def test_enumerate_subsets(mode: str, expected: list[tuple[str, ...]]) -> None:
    assert enumerate_subsets(["a", "b", "c"], mode) == expected


def test_enumerate_subsets_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="subset mode"):
        enumerate_subsets(["a"], "pairs")


def test_usable_subsets_need_every_member_present() -> None:
    names = ["a", "b", "c"]
    subsets = subset_matrix(enumerate_subsets(names, "all"), names)
    present = torch.tensor([[True, True, True], [True, False, True], [False, True, False]])
    usable = usable_subsets(present, subsets)
    assert usable[0].all()
    want_1 = [s for s in enumerate_subsets(names, "all") if "b" not in s]
    got_1 = [s for s, ok in zip(enumerate_subsets(names, "all"), usable[1], strict=True) if ok]
    assert got_1 == want_1
    assert usable[2].sum() == 1 and usable[2, 1]  # only {b}


def _mixture(mode: str, present: torch.Tensor):
    names = ["a", "b", "c"]
    subsets = subset_matrix(enumerate_subsets(names, mode), names)
    mean, logvar = torch.randn(len(present), 3, 2), torch.randn(len(present), 3, 2)
    return mixture_of_subsets(mean, logvar, present, subsets), mean, logvar


def test_mixture_samples_only_usable_components() -> None:
    present = torch.tensor([[True, False, True]] * 200)
    mixture, _, _ = _mixture("all", present)
    chosen = mixture.sample_component(torch.Generator().manual_seed(0))
    assert mixture.usable[torch.arange(200), chosen].all()
    assert len(set(chosen.tolist())) == 3  # {a}, {c}, {a, c}, uniformly


def test_component_draw_is_uniform_and_never_waits_for_the_device() -> None:
    present = torch.tensor([[True, False, True]] * 3000)
    mixture, _, _ = _mixture("all", present)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        chosen = mixture.sample_component(torch.Generator().manual_seed(0))
    ops = {e.name for e in prof.events()}
    assert not ops & {"aten::_local_scalar_dense", "aten::is_nonzero", "aten::nonzero"}
    counts = torch.bincount(chosen, minlength=mixture.usable.shape[1])[mixture.usable[0]]
    assert len(counts) == 3 and (counts - 1000).abs().max() < 120  # binomial std ~26


def test_mixture_kl_is_mean_over_usable_components() -> None:
    present = torch.tensor([[True, False, True]])
    mixture, mean, logvar = _mixture("singletons", present)
    kl_a = product_of_experts(
        mean[:, :1], logvar[:, :1], torch.tensor([[True]])
    ).kl_standard_normal()
    kl_c = product_of_experts(
        mean[:, 2:], logvar[:, 2:], torch.tensor([[True]])
    ).kl_standard_normal()
    torch.testing.assert_close(
        mixture.mean_component_kl(Gaussian.kl_standard_normal), (kl_a + kl_c) / 2
    )


def test_full_mode_falls_back_to_poe_of_present_modalities() -> None:
    present = torch.tensor([[True, False, True]])
    mixture, mean, logvar = _mixture("full", present)
    assert mixture.usable.tolist() == [[False, True]]
    want = product_of_experts(mean, logvar, present)
    got = mixture.component(torch.tensor([1]))
    torch.testing.assert_close(got.mean, want.mean)
    torch.testing.assert_close(got.logvar, want.logvar)


def test_mixture_rejects_samples_with_nothing_present() -> None:
    with pytest.raises(ValueError, match="at least one present"):
        _mixture("all", torch.tensor([[True, True, True], [False, False, False]]))


def test_product_without_the_prior_expert() -> None:
    mean, logvar = torch.randn(4, 3, 2), torch.randn(4, 3, 2)
    one = torch.tensor([True, False, False]).expand(4, 3)
    alone = product_of_experts(mean, logvar, one, prior=False)  # one expert: itself
    torch.testing.assert_close(alone.mean, mean[:, 0])
    torch.testing.assert_close(alone.logvar, logvar[:, 0])
    both = torch.tensor([True, True, False]).expand(4, 3)
    precision = torch.exp(-logvar[:, :2]).sum(1)  # (4, 2)
    product = product_of_experts(mean, logvar, both, prior=False)
    torch.testing.assert_close(product.logvar, -precision.log())
    torch.testing.assert_close(
        product.mean, (mean[:, :2] * torch.exp(-logvar[:, :2])).sum(1) / precision
    )
