import pytest
import torch

from mmlatent.latent import REGULARISERS, Gaussian, get_regulariser, mmd


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_near_zero_for_same_distribution_and_larger_for_shifted(kernel: str) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 4, generator=g), torch.randn(400, 4, generator=g)
    same = mmd(x, y, kernel)
    shifted = mmd(x, y + 1.0, kernel)
    assert abs(same.item()) < 0.01
    assert shifted.item() > 10 * max(abs(same.item()), 1e-3)


def test_mmd_is_unbiased_so_can_be_negative_but_averages_to_zero() -> None:
    g = torch.Generator().manual_seed(1)
    values = [
        mmd(torch.randn(20, 2, generator=g), torch.randn(20, 2, generator=g)).item()
        for _ in range(200)
    ]
    assert min(values) < 0
    assert abs(sum(values) / len(values)) < 0.01


def test_mmd_has_gradients() -> None:
    x = torch.randn(10, 3, requires_grad=True)
    mmd(x, torch.randn(10, 3)).backward()
    assert torch.isfinite(x.grad).all()


def test_mmd_validates_inputs() -> None:
    with pytest.raises(ValueError, match="two samples"):
        mmd(torch.zeros(1, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="kernel"):
        mmd(torch.zeros(3, 2), torch.zeros(3, 2), "laplacian")


def test_registry_holds_kl_and_mmd() -> None:
    assert {"kl", "mmd_imq", "mmd_rbf"} <= set(REGULARISERS)
    q = Gaussian(torch.ones(8, 2), torch.zeros(8, 2))
    torch.testing.assert_close(get_regulariser("kl")(q, q.rsample()), torch.tensor(1.0))
    assert torch.isfinite(get_regulariser("mmd_imq")(q, q.rsample()))
    with pytest.raises(ValueError, match="unknown regulariser"):
        get_regulariser("jsd")
