import pytest
import torch
from torch.distributions import Bernoulli, Categorical, Laplace, Normal

from mmlatent.nn import log_likelihood, to_data


def test_bernoulli_matches_torch_with_soft_targets_too() -> None:
    logits, target = torch.randn(3, 1, 4, 4), torch.rand(3, 1, 4, 4).round()
    want = Bernoulli(logits=logits).log_prob(target).flatten(1).sum(-1)
    torch.testing.assert_close(log_likelihood("bernoulli", logits, target), want)
    soft = torch.rand(3, 1, 4, 4)
    manual = soft * torch.nn.functional.logsigmoid(logits) + (
        1 - soft
    ) * torch.nn.functional.logsigmoid(-logits)
    torch.testing.assert_close(log_likelihood("bernoulli", logits, soft), manual.flatten(1).sum(-1))


@pytest.mark.parametrize(("name", "dist"), [("gaussian", Normal), ("laplace", Laplace)])
def test_real_valued_match_torch(name: str, dist: type) -> None:
    mean, target = torch.randn(3, 1, 5, 6), torch.rand(3, 1, 5, 6)
    want = dist(mean, 0.3).log_prob(target).flatten(1).sum(-1)
    torch.testing.assert_close(log_likelihood(name, mean, target, scale=0.3), want)


def test_categorical_matches_torch_and_counts_pad_positions() -> None:
    logits = torch.randn(2, 5, 7)
    target = torch.tensor([[2, 4, 3, 0, 0], [2, 5, 6, 3, 0]])
    want = Categorical(logits=logits).log_prob(target).sum(-1)
    torch.testing.assert_close(log_likelihood("categorical", logits, target), want)


def test_extreme_parameters_stay_finite() -> None:
    big = torch.tensor([[1e4, -1e4]])
    assert torch.isfinite(log_likelihood("bernoulli", big, torch.tensor([[0.0, 1.0]]))).all()
    assert torch.isfinite(
        log_likelihood("categorical", big.view(1, 1, 2), torch.tensor([[1]]))
    ).all()
    assert torch.isfinite(log_likelihood("laplace", big, torch.zeros(1, 2), scale=1e-3)).all()


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="likelihood"):
        log_likelihood("poisson", torch.zeros(1, 1), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="scale"):
        log_likelihood("gaussian", torch.zeros(1, 1), torch.zeros(1, 1), scale=0.0)
    with pytest.raises(ValueError, match="likelihood"):
        to_data("poisson", torch.zeros(1, 1))


def test_to_data() -> None:
    logits = torch.tensor([[-100.0, 0.0, 100.0]])
    torch.testing.assert_close(to_data("bernoulli", logits), torch.tensor([[0.0, 0.5, 1.0]]))
    means = torch.tensor([[-0.5, 0.5, 1.5]])
    torch.testing.assert_close(
        to_data("laplace", means, unit_interval=True), torch.tensor([[0.0, 0.5, 1.0]])
    )
    torch.testing.assert_close(to_data("gaussian", means), means)
    ids = to_data("categorical", torch.tensor([[[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]]]))
    assert ids.dtype == torch.long and ids.tolist() == [[1, 0]]
