"""Behaviour every generative model must show, as a mixin. ``test_contract.py`` subclasses it
once per registered model; the tests read the model's declared capabilities (a unimodal model
is handed the same multimodal batches and must ignore the modalities it does not model)."""

from __future__ import annotations

from itertools import combinations
from typing import Any, ClassVar

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from mmlatent.models import build_model, model_config, model_from_config
from mmlatent.models.base import GenerativeModel
from mmlatent.types import ModalitySpec

SPECS = {
    "image": ModalitySpec(name="image", kind="image", shape=(1, 12, 12), likelihood="bernoulli"),
    "audio": ModalitySpec(name="audio", kind="audio", shape=(1, 8, 16), likelihood="laplace"),
    "text": ModalitySpec(
        name="text", kind="text", shape=(6,), likelihood="categorical", vocab_size=11
    ),
    "vector": ModalitySpec(name="vector", kind="vector", shape=(5,), likelihood="gaussian"),
}
BATCH = 8


def make_batch(seed: int = 0, batch: int = BATCH) -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "image": torch.rand(batch, 1, 12, 12, generator=g).round(),
        "audio": torch.rand(batch, 1, 8, 16, generator=g),
        "text": torch.randint(0, 11, (batch, 6), generator=g),
        "vector": torch.rand(batch, 5, generator=g),
    }


def full_mask(data: dict[str, Tensor]) -> dict[str, Tensor]:
    return {m: torch.ones(len(x), dtype=torch.bool) for m, x in data.items()}


def with_placeholders(
    data: dict[str, Tensor], mask: dict[str, Tensor], fill: float
) -> dict[str, Tensor]:
    """Overwrite every masked-out value with ``fill``; token ids get -1 for NaN (never a valid id)."""
    out = {}
    for m, x in data.items():
        keep = mask[m].view(-1, *([1] * (x.dim() - 1)))
        if not x.is_floating_point():
            fill = -1 if fill != fill else int(fill)  # NaN != NaN
        value = torch.tensor(fill, dtype=x.dtype)
        out[m] = torch.where(keep, x, value)
    return out


TINY = {"latent_dim": 4, "hidden_dim": 16}


class ModelContract:
    model_name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = TINY

    @pytest.fixture
    def model(self) -> GenerativeModel:
        torch.manual_seed(0)
        return build_model(self.model_name, SPECS, self.options)

    @staticmethod
    def multimodal(model: GenerativeModel) -> bool:
        return model.capabilities.multimodal

    def _loss(
        self,
        model: GenerativeModel,
        data: dict[str, Tensor],
        mask: dict[str, Tensor],
        seed: int = 0,
    ) -> Any:
        torch.manual_seed(seed)
        return model.loss(data, mask)

    def test_loss_is_finite_with_terms(self, model: GenerativeModel) -> None:
        data = make_batch()
        out = self._loss(model, data, full_mask(data))
        assert out.total.dim() == 0 and torch.isfinite(out.total)
        assert {f"rec_{m}" for m in model.modalities} <= set(out.terms)
        assert all(torch.isfinite(v) for v in out.terms.values())

    def test_loss_falls_in_50_adam_steps(self, model: GenerativeModel) -> None:
        data = make_batch()
        mask = full_mask(data)
        before = self._loss(model, data, mask).total.item()
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        for step in range(50):
            loss = self._loss(model, data, mask, seed=step + 1).total
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        assert self._loss(model, data, mask).total.item() < 0.9 * before

    def test_masked_values_are_never_read(self, model: GenerativeModel) -> None:
        if not model.capabilities.trains_on_incomplete_rows:
            pytest.skip("trains on complete rows only")
        data = make_batch()
        mask = full_mask(data)
        mask["audio"][:3] = False
        mask["text"][2:5] = False
        mask["image"][6:] = False
        nan_data = with_placeholders(data, mask, float("nan"))
        junk_data = with_placeholders(data, mask, -7.0)  # also an invalid token id
        a, b = self._loss(model, nan_data, mask), self._loss(model, junk_data, mask)
        for key in ("total", *a.terms):
            got = a.total if key == "total" else a.terms[key]
            want = b.total if key == "total" else b.terms[key]
            assert torch.isfinite(got), key
            torch.testing.assert_close(got, want)
        a.total.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        torch.testing.assert_close(
            model.encode(nan_data, mask).mean, model.encode(junk_data, mask).mean
        )

    def test_absent_modality_equals_modality_left_out(self, model: GenerativeModel) -> None:
        if not self.multimodal(model):
            pytest.skip("one modality: nothing else to leave out")
        data = make_batch()
        mask = full_mask(data)
        mask["audio"][:] = False
        without = {m: x for m, x in data.items() if m != "audio"}
        a = model.encode(with_placeholders(data, mask, float("nan")), mask)
        b = model.encode(without, {m: v for m, v in mask.items() if m != "audio"})
        torch.testing.assert_close(a.mean, b.mean)
        torch.testing.assert_close(a.logvar, b.logvar)

    def test_sample_without_any_modality_is_an_error(self, model: GenerativeModel) -> None:
        if not model.capabilities.trains_on_incomplete_rows:
            pytest.skip("trains on complete rows only")
        data = make_batch()
        mask = {m: torch.ones(BATCH, dtype=torch.bool) for m in data}
        for m in mask:
            mask[m][0] = False
        with pytest.raises(ValueError, match="at least one present"):
            model.loss(data, mask)
        with pytest.raises(ValueError, match="at least one present"):
            model.encode(data, mask)

    def _check_outputs(self, out: dict[str, Tensor], targets: list[str], n: int) -> None:
        assert list(out) == targets
        for m, x in out.items():
            assert x.shape == (n, *SPECS[m].shape), m
            if SPECS[m].kind == "text":
                assert x.dtype == torch.long and x.min() >= 0 and x.max() < SPECS[m].vocab_size
            else:
                assert x.dtype == torch.float32 and torch.isfinite(x).all()
            if SPECS[m].kind in ("image", "audio"):
                assert x.min() >= 0 and x.max() <= 1

    def test_generate_from_prior_and_latent(self, model: GenerativeModel) -> None:
        names = model.modalities
        self._check_outputs(model.generate(3), names, 3)
        self._check_outputs(
            model.generate(2, sample_latent=False, targets=names[-1:]), names[-1:], 2
        )
        latent = torch.randn(5, model.latent_dim)
        self._check_outputs(model.generate(latent=latent, targets=names[::-1]), names[::-1], 5)

    @pytest.mark.parametrize("size", [1, 2, 3])
    def test_generate_from_every_subset_to_the_others(
        self, model: GenerativeModel, size: int
    ) -> None:
        if not model.capabilities.conditions_on_any_subset:
            pytest.skip("does not condition on every subset")
        names = model.modalities
        data = make_batch(batch=3)
        for given in combinations(names, min(size, len(names))):
            targets = [m for m in names if m not in given] or names
            out = model.generate(given={m: data[m] for m in given}, targets=targets)
            self._check_outputs(out, targets, 3)
        first = names[-1]
        self._check_outputs(
            model.generate(given={first: data[first]}, sample_latent=False), names, 3
        )

    def test_generate_rejects_bad_requests(self, model: GenerativeModel) -> None:
        with pytest.raises(ValueError, match="exactly one"):
            model.generate()
        with pytest.raises(ValueError, match="exactly one"):
            model.generate(2, latent=torch.zeros(2, model.latent_dim))
        with pytest.raises(ValueError, match="unknown target"):
            model.generate(2, targets=["smell"])
        with pytest.raises(ValueError, match="unknown modality"):
            model.generate(given={"smell": torch.zeros(2, 3)})

    def test_same_seed_same_generation(self, model: GenerativeModel) -> None:
        data = make_batch(batch=2)
        outputs = []
        for _ in range(2):
            torch.manual_seed(123)
            given = {model.modalities[0]: data[model.modalities[0]]}
            outputs.append((model.generate(4), model.generate(given=given)))
        for first, second in zip(outputs[0], outputs[1], strict=True):
            for m in first:
                torch.testing.assert_close(first[m], second[m])

    def test_safetensors_round_trip(self, model: GenerativeModel, tmp_path: Any) -> None:
        path = tmp_path / "model.safetensors"
        save_file(model.state_dict(), str(path))
        clone = model_from_config(model_config(model))
        clone.load_state_dict(load_file(str(path)))
        data = make_batch(batch=3)
        latent = torch.randn(3, model.latent_dim)
        for m, x in model.generate(latent=latent).items():
            torch.testing.assert_close(clone.generate(latent=latent)[m], x)
        torch.testing.assert_close(
            clone.encode(data, full_mask(data)).mean, model.encode(data, full_mask(data)).mean
        )

    def test_config_survives_plain_values(self, model: GenerativeModel) -> None:
        rebuilt = build_model(self.model_name, SPECS, model.config_dict())
        assert rebuilt.config == model.config
