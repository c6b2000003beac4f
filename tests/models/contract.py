"""Behaviour every generative model must show, as mixins. ``test_contract.py`` subclasses the
one that fits each registered model's training system: ``GenerativeContract`` holds what every
model does (generation, directions, seeding, saving), ``ModelContract`` adds what a likelihood
model's ``loss`` and ``encode`` owe, ``AdversarialContract`` what a GAN's two players owe. The
tests read the model's declared capabilities (a unimodal model is handed the same multimodal
batches and must ignore the modalities it does not model)."""

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


class GenerativeContract:
    model_name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = TINY
    training: ClassVar[str] = ""
    """The training system whose models this contract covers ("" for none: a base)."""

    @pytest.fixture
    def model(self) -> GenerativeModel:
        torch.manual_seed(0)
        return build_model(self.model_name, SPECS, self.options)

    @staticmethod
    def multimodal(model: GenerativeModel) -> bool:
        return model.capabilities.multimodal

    @staticmethod
    def some_generation(
        model: GenerativeModel, data: dict[str, Tensor], **options: Any
    ) -> dict[str, Tensor]:
        """Samples the model can make whatever its capabilities: free ones, or along its first
        direction (``options`` go to ``generate``)."""
        if model.capabilities.unconditional:
            return model.generate(4, **options)
        sources, target = model.directions()[0]
        return model.generate(given={m: data[m] for m in sources}, targets=[target], **options)

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
        if not model.capabilities.unconditional:
            with pytest.raises(ValueError, match="given"):
                model.generate(3)
            pytest.skip("generates from a condition only")
        names = model.modalities
        self._check_outputs(model.generate(3), names, 3)
        self._check_outputs(model.generate(2, temperature=0, targets=names[-1:]), names[-1:], 2)
        latent = torch.randn(5, model.latent_dim)
        self._check_outputs(model.generate(latent=latent, targets=names[::-1]), names[::-1], 5)

    def test_generate_along_every_direction(self, model: GenerativeModel) -> None:
        data = make_batch(batch=3)
        for sources, target in model.directions():
            out = model.generate(given={m: data[m] for m in sources}, targets=[target])
            self._check_outputs(out, [target], 3)
            again = model.generate(
                given={m: data[m] for m in sources}, targets=[target], temperature=0
            )
            self._check_outputs(again, [target], 3)

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
        self._check_outputs(model.generate(given={first: data[first]}, temperature=0), names, 3)

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
            conditional = model.generate(given=given) if model.capabilities.encodes else {}
            outputs.append((self.some_generation(model, data), conditional))
        for first, second in zip(outputs[0], outputs[1], strict=True):
            for m in first:
                torch.testing.assert_close(first[m], second[m])

    def test_temperature_one_is_the_default_draw_and_zero_ignores_the_seed(
        self, model: GenerativeModel
    ) -> None:
        data = make_batch(batch=3)
        made: dict[tuple[float | None, int], dict[str, Tensor]] = {}
        for temperature in (None, 1.0, 0.0):
            for seed in (1, 2):
                torch.manual_seed(seed)
                options = {} if temperature is None else {"temperature": temperature}
                made[temperature, seed] = self.some_generation(model, data, **options)
        for m, x in made[None, 1].items():
            torch.testing.assert_close(made[1.0, 1][m], x)
            torch.testing.assert_close(made[0.0, 1][m], made[0.0, 2][m])
        assert any(not torch.equal(x, made[None, 2][m]) for m, x in made[None, 1].items())

    @pytest.mark.parametrize("temperature", [-0.5, float("nan"), float("inf")])
    def test_a_temperature_that_is_not_a_finite_nonnegative_number_is_refused(
        self, model: GenerativeModel, temperature: float
    ) -> None:
        with pytest.raises(ValueError, match="temperature must be"):
            self.some_generation(model, make_batch(batch=2), temperature=temperature)

    def test_safetensors_round_trip(self, model: GenerativeModel, tmp_path: Any) -> None:
        path = tmp_path / "model.safetensors"
        save_file(model.state_dict(), str(path))
        clone = model_from_config(model_config(model))
        clone.load_state_dict(load_file(str(path)))
        model.eval(), clone.eval()
        data = make_batch(batch=3)
        torch.manual_seed(7)
        want = self.some_generation(model, data)
        torch.manual_seed(7)
        for m, x in self.some_generation(clone, data).items():
            torch.testing.assert_close(x, want[m])
        if model.capabilities.encodes:
            torch.testing.assert_close(
                clone.encode(data, full_mask(data)).mean, model.encode(data, full_mask(data)).mean
            )
        else:
            with pytest.raises(ValueError, match="no encoder"):
                model.encode(data, full_mask(data))

    def test_config_survives_plain_values(self, model: GenerativeModel) -> None:
        rebuilt = build_model(self.model_name, SPECS, model.config_dict())
        assert rebuilt.config == model.config


class ModelContract(GenerativeContract):
    """What a likelihood model (trained by the ELBO system) owes: ``loss`` and ``encode``."""

    training = "elbo"

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

    @pytest.mark.parametrize("temperature", [0.3, 1.7])
    def test_the_decoded_code_is_temperature_of_the_way_from_mean_to_draw(
        self, model: GenerativeModel, temperature: float, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every code the decoders get (shared, and private ones where the model has them) is
        ``mean + t (draw - mean)``, with the draw made from the same seed as at t = 1."""
        data = make_batch(batch=3)
        source = model.modalities[0]
        decoded: list[list[Tensor]] = []
        decode = model.decode

        def recording(z: Tensor, *args: Any, **kwargs: Any) -> Any:
            private = kwargs.get("private") or {}
            decoded.append([z, *(private[m] for m in sorted(private))])
            return decode(z, *args, **kwargs)

        monkeypatch.setattr(model, "decode", recording)
        for t in (0.0, 1.0, temperature):
            for free in (False, True):
                torch.manual_seed(5)
                if free:
                    model.generate(3, temperature=t)
                else:
                    model.generate(given={source: data[source]}, temperature=t)
        means, draws, tempered = decoded[0:2], decoded[2:4], decoded[4:6]
        for mean, draw, at_t in zip(means, draws, tempered, strict=True):
            for d, m, x in zip(draw, mean, at_t, strict=True):
                torch.testing.assert_close(x, m + temperature * (d - m))
        # at least the prior's draws differ from its mean (an autoencoder decodes its codes)
        assert any(not torch.equal(d, m) for d, m in zip(draws[1], means[1], strict=True))

    def test_an_autoencoder_decodes_its_codes_not_draws(self, model: GenerativeModel) -> None:
        """With ``latent_loss: none`` the encoder's variances are never trained, so generating
        a modality from itself decodes its code, the same on every call, whatever the RNG."""
        if "none" not in model.capabilities.latent_losses:
            pytest.skip("has no plain-autoencoder mode")
        # A learned prior and Laplace posteriors go with the KL only.
        options = {k: v for k, v in self.options.items() if k not in ("prior", "posterior")}
        autoencoder = build_model(self.model_name, SPECS, {**options, "latent_loss": "none"})
        source = autoencoder.modalities[0]
        given = {source: make_batch(batch=3)[source]}
        outputs = []
        for seed in (1, 2):
            torch.manual_seed(seed)
            outputs.append(autoencoder.generate(given=given, targets=[source])[source])
        torch.testing.assert_close(outputs[0], outputs[1])

    def test_loss_falls_in_100_adam_steps(self, model: GenerativeModel) -> None:
        # The images are coin flips: their per-pixel marginals alone cost ~0.9 of the first loss,
        # so a one-modality image model passes only by carrying information through its codes
        # (which takes a beta-VAE more than 50 steps).
        data = make_batch()
        mask = full_mask(data)
        before = self._loss(model, data, mask).total.item()
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        for step in range(100):
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
        rows = torch.ones(BATCH, dtype=torch.bool)
        if not self.multimodal(model):  # one modality: only rows that have it can be encoded
            rows = mask[model.modalities[0]]
        nan_rows, junk_rows, mask_rows = (
            {m: x[rows] for m, x in d.items()} for d in (nan_data, junk_data, mask)
        )
        torch.testing.assert_close(
            model.encode(nan_rows, mask_rows).mean, model.encode(junk_rows, mask_rows).mean
        )

    def test_masked_rows_send_no_gradient(self, model: GenerativeModel) -> None:
        """Whatever a masked row holds, every weight gets the same gradient, and the masked
        inputs get exactly none."""
        if not model.capabilities.trains_on_incomplete_rows:
            pytest.skip("trains on complete rows only")
        data = make_batch()
        mask = full_mask(data)
        mask["audio"][:3] = False
        mask["image"][5:] = False  # a one-modality model (given the image) loses rows too
        watched = ("audio", "image")
        params = [p for p in model.parameters() if p.requires_grad]
        weight_grads = []
        for fill in (float("nan"), -7.0, 1e4):
            filled = with_placeholders(data, mask, fill)
            inputs = {m: filled[m].requires_grad_() for m in watched}
            loss = self._loss(model, {**filled, **inputs}, mask).total
            grads = torch.autograd.grad(loss, [*inputs.values(), *params], allow_unused=True)
            for (m, x), g in zip(inputs.items(), grads, strict=False):
                g = torch.zeros_like(x) if g is None else g  # None: never read at all
                assert (g[~mask[m]] == 0).all(), m
                if m in model.modalities:  # the rows that are present do feed the loss
                    assert g[mask[m]].abs().sum() > 0, m
            weight_grads.append(grads[len(watched) :])
        for other in weight_grads[1:]:
            for p, a, b in zip(params, weight_grads[0], other, strict=True):
                assert (a is None) == (b is None)
                if a is not None:
                    assert torch.isfinite(a).all() and torch.equal(a, b), p.shape

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


class AdversarialContract(GenerativeContract):
    """What a GAN (trained by the adversarial system) owes: a loss per player that reaches its
    own player, finite under every objective, blind to masked rows."""

    training = "adversarial"

    @staticmethod
    def players(model: Any) -> tuple[list[Tensor], list[Tensor]]:
        return list(model.generator.parameters()), list(model.discriminator.parameters())

    @staticmethod
    def _grads(loss: Tensor, params: list[Tensor]) -> list[Tensor | None]:
        return list(torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True))

    def test_each_loss_is_finite_and_named(self, model: Any) -> None:
        data = make_batch()
        d = model.discriminator_loss(data, full_mask(data))
        g = model.generator_loss(data, full_mask(data))
        assert d.total.dim() == g.total.dim() == 0
        assert torch.isfinite(d.total) and torch.isfinite(g.total)
        assert {"d_loss", "d_real", "d_fake"} <= set(d.terms) and "g_loss" in g.terms
        scores = model.discriminator_scores(data, full_mask(data))
        assert set(scores) == {"d_real", "d_fake"}
        assert all(torch.isfinite(v) and not v.requires_grad for v in scores.values())

    def test_the_discriminator_loss_reaches_the_discriminator_only(self, model: Any) -> None:
        data = make_batch()
        generator, discriminator = self.players(model)
        loss = model.discriminator_loss(data, full_mask(data)).total
        assert all(g is None for g in self._grads(loss, generator))  # fakes are detached
        assert sum(g.abs().sum() for g in self._grads(loss, discriminator) if g is not None) > 0

    def test_the_generator_loss_reaches_the_generator(self, model: Any) -> None:
        data = make_batch()
        generator, _ = self.players(model)
        loss = model.generator_loss(data, full_mask(data)).total
        grads = self._grads(loss, generator)
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum() for g in grads if g is not None) > 0

    @pytest.mark.parametrize("objective", ["non-saturating", "hinge", "wgan-gp"])
    def test_every_objective_with_and_without_spectral_norm(self, objective: str) -> None:
        for spectral_norm in (False, True):
            options = {**self.options, "loss": objective, "spectral_norm": spectral_norm}
            model = build_model(self.model_name, SPECS, options)
            data = make_batch()
            d = model.discriminator_loss(data, full_mask(data))
            assert torch.isfinite(d.total) and torch.isfinite(
                model.generator_loss(data, full_mask(data)).total
            )
            assert ("gradient_penalty" in d.terms) == (objective == "wgan-gp")

    def test_masked_values_are_never_read(self, model: Any) -> None:
        data = make_batch()
        mask = full_mask(data)
        for m in model.modalities:
            mask[m][:3] = False
        mask[model.modalities[0]][5] = False
        results = []
        state = {k: v.clone() for k, v in model.state_dict().items()}
        for fill in (float("nan"), -7.0):
            filled = with_placeholders(data, mask, fill)
            model.load_state_dict(state)  # spectral norm's power iteration moves on each call
            torch.manual_seed(0)
            d = model.discriminator_loss(filled, mask)
            g = model.generator_loss(filled, mask)
            results.append((d.total, g.total))
        for value in results[0]:
            assert torch.isfinite(value)
        torch.testing.assert_close(results[0], results[1])

    def test_a_batch_without_usable_rows_gives_zero_with_a_graph(self, model: Any) -> None:
        data = make_batch()
        mask = {m: torch.zeros(BATCH, dtype=torch.bool) for m in data}
        loss = model.discriminator_loss(data, mask).total
        assert loss.item() == 0.0 and loss.requires_grad

    def test_the_average_follows_the_generator_and_generation_reads_it(self, model: Any) -> None:
        data = make_batch(batch=3)
        model.eval()
        torch.manual_seed(1)
        before = self.some_generation(model, data)
        with torch.no_grad():
            for p in model.generator.parameters():
                p.add_(0.5)
        torch.manual_seed(1)
        unchanged = self.some_generation(model, data)  # the average has not moved yet
        for m, x in before.items():
            torch.testing.assert_close(unchanged[m], x)
        model.update_average(0.0)  # decay 0: the average becomes the weights
        for p, q in zip(
            model.generator_average.parameters(), model.generator.parameters(), strict=True
        ):
            torch.testing.assert_close(p, q)
        assert int(model.ema_updates) == 1

    def test_the_discriminator_learns_to_tell_real_from_fake(self, model: Any) -> None:
        data = make_batch()
        mask = full_mask(data)
        optimiser = torch.optim.Adam(model.discriminator.parameters(), lr=3e-3)
        torch.manual_seed(0)
        before = model.discriminator_loss(data, mask).total.item()
        for _ in range(40):
            loss = model.discriminator_loss(data, mask).total
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        torch.manual_seed(0)
        assert model.discriminator_loss(data, mask).total.item() < 0.7 * before
