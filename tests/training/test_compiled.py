"""``train.compile``: the loss through torch.compile, and a clean fall-back when compiling fails."""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch

from mmlatent.config import TrainConfig
from mmlatent.models import build_model
from mmlatent.training.compiled import CompiledOrEager
from mmlatent.training.systems.elbo import ELBOSystem
from mmlatent.types import ModalitySpec


def scaled_sine(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x).exp() * 2


def failing_backend(graph, example_inputs):
    raise RuntimeError("no compiler here")


def test_a_failing_compiler_falls_back_with_one_warning() -> None:
    x = torch.randn(5)
    fn = CompiledOrEager(scaled_sine, enabled=True, backend=failing_backend)
    with pytest.warns(RuntimeWarning, match="torch.compile failed.*no compiler here"):
        first = fn(x)
    assert not fn.compiling
    torch.testing.assert_close(first, scaled_sine(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once: later calls run plainly and quietly
        torch.testing.assert_close(fn(x), scaled_sine(x))


def test_a_missing_cxx_compiler_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a CPU box without g++ meets: inductor's own error, turned into the fall-back."""
    import torch._inductor.config as inductor

    monkeypatch.setattr(inductor.cpp, "cxx", ("/nonexistent/g++",))
    monkeypatch.setattr(inductor, "fx_graph_cache", False)
    x = torch.randn(7)
    fn = CompiledOrEager(lambda t: torch.cos(t) * 3 + 1, enabled=True)
    with pytest.warns(RuntimeWarning, match="training continues without compiling"):
        torch.testing.assert_close(fn(x), torch.cos(x) * 3 + 1)
    assert not fn.compiling


def test_model_errors_are_not_compiler_errors() -> None:
    def bad_input(x: torch.Tensor) -> torch.Tensor:
        raise ValueError("every sample needs at least one present modality")

    fn = CompiledOrEager(bad_input, enabled=True, backend="eager")
    with pytest.raises(ValueError, match="at least one present"):
        fn(torch.ones(2))


def test_compiled_loss_matches_the_plain_one() -> None:
    specs = {
        "image": ModalitySpec(name="image", kind="image", shape=(1, 8, 8), likelihood="bernoulli"),
        "text": ModalitySpec(
            name="text", kind="text", shape=(5,), likelihood="categorical", vocab_size=9
        ),
    }
    torch.manual_seed(0)
    model = build_model("mopoe", specs, {"latent_dim": 4, "hidden_dim": 16})
    data = {"image": torch.rand(6, 1, 8, 8), "text": torch.randint(0, 9, (6, 5))}
    mask = {m: torch.ones(6, dtype=torch.bool) for m in data}
    # The "eager" backend traces (GRU included) without code generation: quick, same numbers.
    compiled = CompiledOrEager(model.loss, enabled=True, backend="eager")
    torch.manual_seed(1)
    want = model.loss(data, mask).total
    torch.manual_seed(1)
    got = compiled(data, mask).total
    assert compiled.compiling
    torch.testing.assert_close(got, want)
    # What a spawned DDP worker receives: the loss, to compile afresh (a compiled function
    # itself does not pickle).
    received = pickle.loads(pickle.dumps(compiled))
    torch.manual_seed(1)
    again = received(data, mask).total
    assert received.compiling
    torch.testing.assert_close(again, want)


def test_the_training_system_compiles_only_when_asked() -> None:
    specs = {
        "image": ModalitySpec(name="image", kind="image", shape=(1, 8, 8), likelihood="bernoulli")
    }
    model = build_model("mopoe", specs, {"latent_dim": 4, "hidden_dim": 16})
    assert not ELBOSystem(model).model_loss.compiling
    assert ELBOSystem(model, TrainConfig(compile=True)).model_loss.compiling
