"""The shared base of every latent-variable model: one encoder and one decoder per modality, the
presence masks, likelihoods and their rescaling, the latent loss, and generation.

A family (one module each) subclasses :class:`LatentModel`, adds its config fields to
:class:`LatentModelConfig`, and writes what makes it that family: how experts are fused
(``encode``, ``posterior_for_generation``) and its objective (``loss``). Shapes: B batch,
M modalities, D latent dims.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mmlatent.latent import (
    PRIORS,
    Gaussian,
    GaussianPrior,
    LatentPenalty,
    Prior,
    build_latent_loss,
)
from mmlatent.latent.fusion import require_some_present
from mmlatent.latent.temperature import tempered
from mmlatent.models.base import GenerativeModel, LossOutput, generation_source
from mmlatent.models.critics import DecoderCritics
from mmlatent.nn import (
    build_decoder,
    build_encoder,
    event_size,
    is_unit_interval,
    log_likelihood,
    to_data,
)
from mmlatent.registry import LATENT_LOSSES
from mmlatent.types import ModalitySpec

RESCALE_MODES: tuple[str, ...] = ("dims", "none")


def maps_names(value: object, valid: Callable[[object], bool]) -> bool:
    """Whether ``value`` is a dict from names to values that ``valid`` accepts (the per-modality
    options' shape)."""
    return isinstance(value, dict) and all(
        isinstance(name, str) and valid(v) for name, v in value.items()
    )


def is_positive_weight(value: object) -> bool:
    """A finite number > 0 (not a bool): what a per-modality weight must be."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def require(ok: bool, field_name: str, why: str, value: object) -> None:
    """A config check: ``ValueError`` naming the field, the rule and the value."""
    if not ok:
        raise ValueError(f"{field_name} {why}, got {value!r}")


@dataclass(kw_only=True)
class LatentModelConfig:
    """Fields every latent model shares; a family's config subclasses it."""

    latent_dim: int = 32
    """Size of the shared latent space."""
    hidden_dim: int = 128
    """Width of every encoder and decoder (conv channels scale with it)."""
    beta: float = 1.0
    """Weight of the latent loss (beta-VAE, Higgins et al. 2017); the trainer may ramp it up."""
    latent_loss: str = "kl"
    """How codes are pulled toward the prior: ``kl``, ``mmd``, ``adversarial`` or ``none``
    (``mmlatent.latent.losses``)."""
    latent_loss_options: dict[str, Any] = field(default_factory=dict)
    """Options of the latent loss, e.g. ``{"kernel": "rbf"}`` for ``mmd``."""
    prior: str = "standard"
    """p(z): ``standard`` N(0, I), or ``learned``, a full-covariance Gaussian trained with the
    model so that draws from it land where the codes are (``mmlatent.latent.priors``); needs
    ``latent_loss: kl`` (the other losses match the codes to N(0, I) draws)."""
    rescale: str = "dims"
    """Likelihood weight per modality: ``dims`` gives modality m the weight max_k n_k / n_m (n:
    values per sample), as the MoPoE code does, so a 12-token caption counts as much as a
    784-pixel image; ``none`` weights every modality 1 (the plain ELBO)."""
    modality_weights: dict[str, float] = field(default_factory=dict)
    """Factors on the named modalities' likelihood weights after ``rescale`` (the lambda_m of Wu
    & Goodman 2018), e.g. ``{"text": 16}`` with ``rescale: none``; unnamed modalities keep 1.
    Measured on AV-MNIST for MVAE in ``docs/zoo.md``."""
    obs_scale: float = 0.75
    """Fixed std (gaussian) or scale (laplace) of real-valued likelihoods; 0.75 is MMVAE's Laplace
    scale (Shi et al. 2019)."""
    decoder_refine: dict[str, int] = field(default_factory=dict)
    """Full-resolution 3x3 conv layers that end the named modalities' decoders (image and audio
    kinds), e.g. ``{"audio": 2}``; by default the stride-2 upsampling writes the output. Measured
    on AV-MNIST in ``docs/zoo.md``."""
    decoder_critics: dict[str, float] = field(default_factory=dict)
    """Weights of adversarial critics on the named image-like modalities' decoded outputs
    (VAE-GAN, Larsen et al. 2016; ``mmlatent.models.critics``), e.g. ``{"audio": 1}``: the
    decoders learn outputs a critic cannot tell from data, sharper than a likelihood's mean.
    Families declare support in ``Capabilities.decoder_critics``."""
    critics_train_encoders: bool = True
    """Whether the critics' gradient reaches the encoders through the codes (and, under DReG,
    scaled by its weights on the draws). False is VAE-GAN's rule: the critics train the decoders
    alone, which decode the criticised modalities a second time from detached codes. On
    AV-MNIST the encoders' share is what makes an image critic help (``docs/zoo.md``)."""

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, "latent_dim", "must be >= 1", self.latent_dim)
        require(self.hidden_dim >= 1, "hidden_dim", "must be >= 1", self.hidden_dim)
        require(self.beta >= 0, "beta", "must be >= 0", self.beta)
        require(
            self.latent_loss in LATENT_LOSSES,
            "latent_loss",
            f"must be one of {LATENT_LOSSES.names()}",
            self.latent_loss,
        )
        require(self.prior in PRIORS, "prior", f"must be one of {PRIORS}", self.prior)
        require(
            self.prior == "standard" or self.latent_loss == "kl",
            "prior",
            f"must be 'standard' with latent_loss {self.latent_loss!r} (it matches N(0, I))",
            self.prior,
        )
        require(
            self.rescale in RESCALE_MODES,
            "rescale",
            f"must be one of {RESCALE_MODES}",
            self.rescale,
        )
        require(
            maps_names(self.modality_weights, is_positive_weight),
            "modality_weights",
            "must map modality names to finite weights > 0",
            self.modality_weights,
        )
        require(self.obs_scale > 0, "obs_scale", "must be > 0", self.obs_scale)
        require(
            maps_names(
                self.decoder_refine,
                lambda n: isinstance(n, int) and not isinstance(n, bool) and n >= 0,
            ),
            "decoder_refine",
            "must map modality names to layer counts >= 0",
            self.decoder_refine,
        )
        require(
            maps_names(self.decoder_critics, is_positive_weight),
            "decoder_critics",
            "must map modality names to finite weights > 0",
            self.decoder_critics,
        )
        require(
            isinstance(self.critics_train_encoders, bool),
            "critics_train_encoders",
            "must be true or false",
            self.critics_train_encoders,
        )


def likelihood_weights(
    specs: Sequence[ModalitySpec], rescale: str, factors: Mapping[str, float] | None = None
) -> list[float]:
    """One weight per modality for the reconstruction terms: ``rescale``'s, times the modality's
    factor (``LatentModelConfig.rescale`` and ``modality_weights``)."""
    factors = factors or {}
    if rescale == "none":
        base = [1.0] * len(specs)
    else:
        sizes = [event_size(s) for s in specs]
        base = [max(sizes) / n for n in sizes]
    return [w * float(factors.get(s.name, 1.0)) for w, s in zip(base, specs, strict=True)]


def fill_absent(x: Tensor, present: Tensor) -> Tensor:
    """Zeros where a sample is absent, so no NaN or out-of-range id placeholder reaches a network."""
    keep = present.view(-1, *([1] * (x.dim() - 1)))  # (B, 1, ...)
    return torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))


class LatentModel(GenerativeModel):
    """Per-modality encoders to Gaussian experts, decoders from z, and everything around them."""

    rec_weights: Tensor  # (M,) buffer: reconstruction weight per modality

    def __init__(self, specs: dict[str, ModalitySpec], config: LatentModelConfig) -> None:
        super().__init__(self.select_specs(specs, config), config)
        allowed = self.capabilities.latent_losses
        require(
            config.latent_loss in allowed,
            "latent_loss",
            f"must be one of {allowed} for {self.registry_name or type(self).__name__}",
            config.latent_loss,
        )
        for option in ("decoder_refine", "modality_weights", "decoder_critics"):
            named = getattr(config, option)
            require(
                set(named) <= set(specs),
                option,
                f"must name modalities of the data ({', '.join(specs)})",
                named,
            )
        self.encoders = nn.ModuleDict({m: self.build_encoder(s) for m, s in self.specs.items()})
        self.decoders = nn.ModuleDict({m: self.build_decoder(s) for m, s in self.specs.items()})
        self.prior = self.build_prior()
        self.latent_loss = build_latent_loss(
            config.latent_loss, self.latent_dim, config.latent_loss_options
        )
        weights = torch.tensor(
            likelihood_weights(list(self.specs.values()), config.rescale, config.modality_weights)
        )
        self.register_buffer("rec_weights", weights, persistent=False)  # (M,)
        self.critics = self.build_critics()

    # -- what a family writes -------------------------------------------------------------------

    @abstractmethod
    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """Joint posterior q(z | present modalities)."""

    @abstractmethod
    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """The model's training objective averaged over the batch (the negative ELBO for VAEs).

        ``terms`` hold at least ``rec_<m>`` per modality, the latent term, and ``elbo`` where the
        objective is a bound.
        """

    # -- hooks a family may override ----------------------------------------------------------

    def select_specs(
        self, specs: dict[str, ModalitySpec], config: LatentModelConfig
    ) -> dict[str, ModalitySpec]:
        """The modalities this model keeps (all of them; a unimodal family picks one)."""
        return dict(specs)

    def build_encoder(self, spec: ModalitySpec) -> nn.Module:
        """(B, *shape) -> (mean, logvar), each (B, latent_dim)."""
        return build_encoder(spec, self.config.latent_dim, self.config.hidden_dim)

    def build_decoder(self, spec: ModalitySpec) -> nn.Module:
        """(B, latent_dim) -> likelihood parameters of ``spec``."""
        return build_decoder(
            spec, self.config.latent_dim, self.config.hidden_dim, refine=self.refine(spec)
        )

    def refine(self, spec: ModalitySpec) -> int:
        """Full-resolution layers ending ``spec``'s decoder (``LatentModelConfig.decoder_refine``)."""
        return self.config.decoder_refine.get(spec.name, 0)

    def build_critics(self) -> DecoderCritics | None:
        """Critics on the decoded modalities that ``decoder_critics`` weighs, or None; a family
        that cannot feed them refuses the option."""
        weights = self.config.decoder_critics
        if not weights:
            return None
        name = self.registry_name or type(self).__name__
        require(
            set(weights) <= set(self.specs),
            "decoder_critics",
            f"must name modalities {name} models ({', '.join(self.specs)})",
            weights,
        )
        require(
            self.capabilities.decoder_critics,
            "decoder_critics",
            f"is not supported by {name}",
            self.config.decoder_critics,
        )
        flat = sorted(m for m in weights if len(self.specs[m].shape) != 3)
        require(
            not flat,
            "decoder_critics",
            f"must name image-like (C, H, W) modalities, not {', '.join(flat)}",
            self.config.decoder_critics,
        )
        return DecoderCritics(self.specs, weights, self.config.hidden_dim)

    def build_prior(self) -> Prior:
        """p(z): N(0, I), or a full-covariance Gaussian learned with the model."""
        return GaussianPrior(self.latent_dim, learned=self.config.prior == "learned")

    def posterior_for_generation(self, given: dict[str, Tensor]) -> Gaussian:
        """The posterior that ``generate(given=...)`` draws from (every given row is present);
        mixtures override it to draw a component."""
        mask = {m: torch.ones(len(x), dtype=torch.bool, device=x.device) for m, x in given.items()}
        return self.encode(given, mask)

    def prior_draw(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> Tensor:
        """n codes from the prior, tempered toward its mode (its mode at 0): (n, D)."""
        return tempered(
            self.prior.mode(n, device=self.device),
            lambda: self.prior.sample(n, device=self.device, generator=generator),
            temperature,
        )

    def prior_log_prob(self, z: Tensor) -> Tensor:
        """log p(z), summed over the last dimension: (...,)."""
        return self.prior.log_prob(z)

    def prior_kl(self, q: Gaussian) -> Tensor:
        """KL(q || p) in closed form, (...,): the families whose bound takes it need a Gaussian
        prior, which ``build_prior`` gives unless a family overrides it."""
        if not isinstance(self.prior, GaussianPrior):
            raise TypeError(f"a closed-form KL needs a Gaussian prior, not {type(self.prior)}")
        return self.prior.kl(q)

    # -- inputs -------------------------------------------------------------------------------

    @staticmethod
    def check_batch(data: dict[str, Tensor], mask: dict[str, Tensor]) -> int:
        """The batch size, after checking that ``data`` is non-empty and every modality in it has
        a mask and both share that size (any modality, this model's or not)."""
        if not data:
            raise ValueError("data must hold at least one modality")
        missing = [m for m in data if m not in mask]
        if missing:
            raise ValueError(f"mask lacks modality {missing[0]!r}")
        size = len(next(iter(data.values())))
        wrong = [m for m in data if len(data[m]) != size or mask[m].shape != (size,)]
        if wrong:
            raise ValueError(
                f"modality {wrong[0]!r}: data and mask must share the batch size {size}"
            )
        return size

    def present(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Tensor:
        """(B, M) bool; a modality missing from ``data`` is absent for every sample."""
        unknown = sorted(set(data) - set(self.specs))
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r}; this model has {self.modalities}")
        size = self.check_batch(data, mask)
        device = next(iter(data.values())).device
        columns = [
            mask[m].to(torch.bool)
            if m in data
            else torch.zeros(size, dtype=torch.bool, device=device)
            for m in self.modalities
        ]
        return torch.stack(columns, dim=1)  # (B, M)

    def own(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> tuple[dict, dict]:
        """``data`` and ``mask`` restricted to this model's modalities (a unimodal model is handed
        a multimodal batch)."""
        keep = [m for m in data if m in self.specs]
        return {m: data[m] for m in keep}, {m: mask[m] for m in keep if m in mask}

    def experts(self, data: dict[str, Tensor], present: Tensor) -> tuple[Tensor, Tensor]:
        """Every modality's posterior parameters, (B, M, D) each; zeros where not in ``data``."""
        encoded = {
            m: self.encoders[m](fill_absent(data[m], present[:, i]))
            for i, m in enumerate(self.modalities)
            if m in data
        }
        zeros = torch.zeros_like(next(iter(encoded.values()))[0])  # (B, D)
        means = [encoded[m][0] if m in encoded else zeros for m in self.modalities]
        logvars = [encoded[m][1] if m in encoded else zeros for m in self.modalities]
        return torch.stack(means, dim=1), torch.stack(logvars, dim=1)  # (B, M, D)

    def observed(self, data: dict[str, Tensor], present: Tensor) -> dict[str, Tensor]:
        """This model's modalities in ``data`` with absent rows zeroed (safe to teacher-force)."""
        return {
            m: fill_absent(data[m], present[:, i])
            for i, m in enumerate(self.modalities)
            if m in data
        }

    def check_targets(self, targets: Sequence[str] | None) -> list[str]:
        targets = list(self.modalities if targets is None else targets)
        unknown = [t for t in targets if t not in self.specs]
        if unknown:
            raise ValueError(f"unknown target {unknown[0]!r}; this model has {self.modalities}")
        return targets

    @staticmethod
    def require_some_present(present: Tensor) -> None:
        """``ValueError`` unless every sample has a modality (without a host sync on a GPU)."""
        require_some_present(present)

    # -- decoding and likelihoods ---------------------------------------------------------------

    def decode(
        self,
        z: Tensor,
        targets: Sequence[str] | None = None,
        *,
        inputs: dict[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Likelihood parameters per target: logits (bernoulli, categorical) or means; ``inputs``
        (observed data) teacher-force autoregressive decoders during training, and without them
        such decoders generate greedily.

        ``z`` may carry leading sample dimensions, (K, B, D): they are flattened for the networks
        and ``inputs`` (B, ...) are repeated to match; outputs come back as (K, B, ...).
        """
        lead = z.shape[:-1]
        flat = z.reshape(-1, z.shape[-1])  # (K*B, D)
        repeats = flat.shape[0] // lead[-1] if len(lead) > 1 else 1
        out = {}
        for m in self.check_targets(targets):
            decoder = self.decoders[m]
            if getattr(decoder, "autoregressive", False) and inputs is not None and m in inputs:
                teacher = inputs[m].repeat(repeats, *([1] * (inputs[m].dim() - 1)))
                params = decoder(flat, teacher)
            else:
                params = decoder(flat)
            out[m] = params.reshape(*lead, *params.shape[1:])
        return out

    def log_likelihoods(
        self, params: dict[str, Tensor], data: dict[str, Tensor], present: Tensor
    ) -> Tensor:
        """log p(x_m | z) per sample and modality (..., B, M); exactly 0 where x_m is absent.

        ``params`` may have leading sample dimensions (K, B, ...); ``data`` is (B, ...).
        """
        lls = {}
        for i, m in enumerate(self.modalities):
            if m not in params:
                continue
            target = fill_absent(data[m], present[:, i])
            p, family = params[m], self.specs[m].likelihood
            per_class = 1 if family == "categorical" else 0  # logits carry a class dimension
            lead = p.shape[: p.dim() - target.dim() - per_class]  # () or (K,)
            flat_p = p.reshape(-1, *p.shape[len(lead) + 1 :])  # (K*B, ...)
            flat_t = target.expand(*lead, *target.shape).reshape(-1, *target.shape[1:])
            ll = log_likelihood(family, flat_p, flat_t, scale=self.config.obs_scale).reshape(
                *lead, len(target)
            )  # (..., B)
            lls[m] = torch.where(present[:, i], ll, 0.0)
        zeros = torch.zeros_like(next(iter(lls.values())))
        return torch.stack([lls.get(m, zeros) for m in self.modalities], dim=-1)  # (..., B, M)

    def reconstruction_terms(self, loglik: Tensor, present: Tensor) -> dict[str, Tensor]:
        """``rec_<m>``: NLL of m averaged over the samples that have it (0 if none do)."""
        counts = present.sum(0).clamp_min(1)  # (M,)
        return {f"rec_{m}": -loglik[:, i].sum() / counts[i] for i, m in enumerate(self.modalities)}

    def weighted_loglik(self, loglik: Tensor) -> Tensor:
        """sum_m w_m log p(x_m | z): (..., B)."""
        return (loglik * self.rec_weights).sum(-1)

    def critic_penalty(
        self,
        params: dict[str, Tensor],
        data: dict[str, Tensor],
        present: Tensor,
        drawn: Tensor | None = None,
        *,
        redecode: Callable[[list[str]], dict[str, Tensor]],
    ) -> LatentPenalty | None:
        """The decoder critics on ``params`` (decoded from the objective's codes; leading sample
        dimensions allowed) against the rows of ``data`` that have each modality; None without
        critics.

        ``redecode(targets)`` decodes the criticised modalities again from the same codes,
        detached: what the critics see instead when ``critics_train_encoders`` is off, so their
        gradient trains the decoders alone (VAE-GAN's rule). Called only then.

        ``drawn``: a bool mask over the last leading dimensions of the decoded parameters, the
        draws the critics see (a mixture's: the strata each row has). Selected only when there
        are critics, so a model without them pays nothing for it.
        """
        if self.critics is None:
            return None
        if not self.config.critics_train_encoders:
            params = redecode(
                [m for m in self.modalities if m in self.critics.weights and m in params]
            )
        decoded, real = {}, {}
        for i, m in enumerate(self.modalities):
            if m in params and m in self.critics.weights:
                spec = self.specs[m]
                data_like = to_data(
                    spec.likelihood, params[m], unit_interval=is_unit_interval(spec)
                )
                if drawn is not None:
                    data_like = data_like[(..., drawn) + (slice(None),) * len(spec.shape)]
                decoded[m] = data_like.reshape(-1, *spec.shape)
                real[m] = data[m][present[:, i]]
        return self.critics(decoded, real)

    def redecoder(self, z: Tensor) -> Callable[[list[str]], dict[str, Tensor]]:
        """``critic_penalty``'s ``redecode`` where every decoder reads the same codes ``z``: they
        are detached now, and decoded only if the critics ask."""
        detached = z.detach()
        return lambda targets: self.decode(detached, targets)

    @staticmethod
    def with_critics(
        total: Tensor, terms: dict[str, Tensor], critics: LatentPenalty | None
    ) -> Tensor:
        """``total`` plus the critics' penalty and their own loss, their terms added to
        ``terms``; ``total`` itself without critics."""
        if critics is None:
            return total
        terms |= critics.terms
        return total + critics.penalty + critics.auxiliary

    # -- the latent loss ------------------------------------------------------------------------

    def latent_code(self, posterior: Gaussian) -> Tensor:
        """The code the decoders train on, and generation from data decodes: a draw (VAE, WAE,
        AAE) or the mean (a plain AE, whose encoder variances are never trained)."""
        return posterior.rsample() if self.latent_loss.samples_codes else posterior.mean

    def latent_penalty(self, z: Tensor, kl: Tensor) -> LatentPenalty:
        """The configured latent loss on codes ``z`` (B, D) with the family's KL (B,)."""
        return self.latent_loss(z, kl)

    def objective(
        self,
        loglik: Tensor,
        kl: Tensor,
        z: Tensor,
        present: Tensor,
        beta: float | None,
        critics: LatentPenalty | None = None,
        **extra_terms: Tensor,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The regularised reconstruction objective most families train, with its logged terms:
        ``-sum_m w_m log p(x_m|z) + beta * latent loss (+ the loss's own networks)``, batch mean,
        plus the decoder critics' penalty (and their own loss) where ``critic_penalty`` gave one.

        ``loglik`` (B, M), ``kl`` (B,), ``z`` (B, D). Terms: ``rec_<m>``, ``kl``, ``elbo``
        (unweighted, beta 1: the bound itself), ``latent``, the latent loss's own and the
        critics'.
        """
        beta = self.config.beta if beta is None else beta
        penalty = self.latent_penalty(z, kl)
        total = -self.weighted_loglik(loglik).mean() + beta * penalty.penalty + penalty.auxiliary
        terms = self.reconstruction_terms(loglik, present)
        terms["kl"] = kl.mean()
        terms["elbo"] = (loglik.sum(-1) - kl).mean()
        terms["latent"] = penalty.penalty.detach()
        terms |= penalty.terms | extra_terms
        return self.with_critics(total, terms, critics), terms

    # -- likelihood -----------------------------------------------------------------------------

    @torch.no_grad()
    def importance_log_likelihood(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], k: int = 50
    ) -> Tensor:
        """log p(x) of each row's present modalities, estimated with ``k`` importance samples
        from the joint posterior (the IWAE bound, Burda et al. 2016): (B,) nats.

        Unweighted likelihoods (no rescaling), so models with one decoder family compare. Any
        proposal gives a valid estimate; a better posterior only makes it tighter.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        data, mask = self.own(data, mask)
        present = self.present(data, mask)
        posterior = self.encode(data, mask)  # (B, D)
        eps = torch.randn((k, *posterior.mean.shape), device=posterior.mean.device)
        z = posterior.mean + posterior.std * eps  # (K, B, D)
        observed = self.observed(data, present)
        params = self.decode(z, list(observed), inputs=observed)
        loglik = self.log_likelihoods(params, data, present).sum(-1)  # (K, B)
        log_w = loglik + self.prior_log_prob(z) - posterior.log_prob(z)  # (K, B)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    # -- generation -----------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        n: int | None = None,
        *,
        given: dict[str, Tensor] | None = None,
        targets: Sequence[str] | None = None,
        latent: Tensor | None = None,
        temperature: float = 1.0,
    ) -> dict[str, Tensor]:
        source = generation_source(n, given, latent)
        targets = self.check_targets(targets)
        if source == "latent":
            assert latent is not None
            z = self.check_latent(latent)
        elif source == "given":
            assert given is not None
            posterior = self.posterior_for_generation(given)
            z = tempered(posterior.mean, lambda: self.latent_code(posterior), temperature)
        else:
            assert n is not None
            z = self.prior_draw(n, temperature)
        return self.to_data(self.decode(z, targets), targets)

    def check_latent(self, latent: Tensor) -> Tensor:
        """``latent`` itself, once its size is the one ``generate(latent=...)`` takes."""
        if latent.shape[-1] != self.latent_dim:
            raise ValueError(f"latent must be (N, {self.latent_dim}), got {tuple(latent.shape)}")
        return latent

    def to_data(self, params: dict[str, Tensor], targets: Sequence[str]) -> dict[str, Tensor]:
        """Likelihood parameters -> data in each modality's preprocessed format."""
        return {
            m: to_data(
                self.specs[m].likelihood, params[m], unit_interval=is_unit_interval(self.specs[m])
            )
            for m in targets
        }
