"""MMVAE+: Palumbo, Daunhawer & Vogt, "MMVAE+: Enhancing the Generative Quality of Multimodal VAEs
without Compromises", ICLR 2023. https://openreview.net/forum?id=sdQGxouELX

Each modality's encoder gives a shared code w (``latent_dim``) and a private code u_m
(``private_dim``); modality n's decoder reads (w, u_n). The shared posterior is the uniform
mixture of the present modalities' experts, q(w | X) = mean_m q(w | x_m), and the objective is
stratified over it: every present modality m draws (w, u_m) ~ q(w | x_m) q(u_m | x_m) and
reconstructs every present modality n from it. When n != m, u_n comes from the auxiliary prior
r_n = N(0, aux_prior_std^2 I), wider than p(u_n) = N(0, I), instead of from q(u_n | x_n): the
private code then carries nothing about x_n, so everything the modalities share has to go
through w (the paper's remedy for the shortcut through modality-specific codes). Per stratum,
the log importance weight of a draw is

    sum_n c_n log p(x_n | w, u_n) - beta * [log q(w|X) + log q(u_m|x_m) - log p(w) - log p(u_m)]

(c_n: the ``rescale`` weights), and the objective averages over strata, outside the log, a
K-sample ``elbo``, ``iwae`` (Burda et al. 2016) or ``dreg`` (IWAE with doubly reparameterised
encoder gradients, Tucker et al. 2019; what the paper trains with) estimate of it. With K = 1
the three are the same number.

With ``prior: learned`` p(w) is learned (``latent.priors``); the private codes keep N(0, I),
the prior the auxiliary one is set against. Another latent loss (``mmd``, ``adversarial``,
``none``) replaces the bracket: the configured
loss pulls the shared codes toward N(0, I), and a second one of the same kind (and options)
pulls the private codes of all modalities, pooled, toward N(0, I), since generation draws u from
that prior too. Missing data: each row mixes, and is stratified over, its present modalities
only; absent ones are neither encoded into the result nor reconstructed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from mmlatent.latent import (
    Gaussian,
    SubsetMixture,
    build_latent_loss,
    mixture_components,
    mixture_log_prob,
    mixture_moments,
    standard_normal_log_prob,
)
from mmlatent.latent.temperature import tempered, tempered_normal
from mmlatent.models.base import Capabilities, LossOutput, generation_source
from mmlatent.models.latent_model import LatentModel, LatentModelConfig, require
from mmlatent.nn import build_decoder, build_encoder
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec

ESTIMATORS: tuple[str, ...] = ("elbo", "iwae", "dreg")


@dataclass(kw_only=True)
class MMVAEPlusConfig(LatentModelConfig):
    private_dim: int = 32
    """Size of each modality's private code u_m (``latent_dim`` is the shared code's); the
    default matches the default shared size."""
    aux_prior_std: float = 2.0
    """Std of the auxiliary prior r_n = N(0, s^2 I) that supplies u_n when another modality's
    draw reconstructs x_n. The paper asks for a wider spread than the prior's (std 1), so that
    such u_n are uninformative and the decoder learns to take shared content from w; twice the
    prior's std is our choice (fixed, not learnt)."""
    estimator: str = "elbo"
    """``elbo`` (mean over the K draws), ``iwae`` or ``dreg`` (the paper's); ``iwae`` and
    ``dreg`` need ``latent_loss: kl`` (they weigh draws by density ratios)."""
    k: int = 1
    """Draws per modality and sample (the paper's K); the cost of a step grows with it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.private_dim >= 1, "private_dim", "must be >= 1", self.private_dim)
        require(self.aux_prior_std > 0, "aux_prior_std", "must be > 0", self.aux_prior_std)
        require(self.k >= 1, "k", "must be >= 1", self.k)
        require(
            self.estimator in ESTIMATORS,
            "estimator",
            f"must be one of {ESTIMATORS}",
            self.estimator,
        )
        require(
            self.estimator == "elbo" or self.latent_loss == "kl",
            "estimator",
            f"must be 'elbo' with latent_loss {self.latent_loss!r}",
            self.estimator,
        )


@register_model("mmvae+")
class MMVAEPlus(LatentModel):
    """Mixture-of-experts multimodal VAE with shared and modality-specific codes."""

    config_class = MMVAEPlusConfig
    capabilities = Capabilities(
        family="multimodal VAE with modality-specific codes",
        fusion="mixture of experts (shared code); private code per modality",
        paper=(
            "Palumbo, Daunhawer & Vogt, MMVAE+: Enhancing the Generative Quality of Multimodal "
            "VAEs without Compromises, ICLR 2023"
        ),
        decoder_critics=True,
    )
    config: MMVAEPlusConfig

    def __init__(
        self, specs: dict[str, ModalitySpec], config: MMVAEPlusConfig | None = None
    ) -> None:
        super().__init__(specs, config if config is not None else MMVAEPlusConfig())
        self.private_latent_loss = build_latent_loss(
            self.config.latent_loss, self.config.private_dim, self.config.latent_loss_options
        )

    # -- networks and posteriors ----------------------------------------------------------------

    def build_encoder(self, spec: ModalitySpec) -> nn.Module:
        """(B, *shape) -> (mean, logvar), each (B, latent_dim + private_dim): [w, u_m]."""
        size = self.config.latent_dim + self.config.private_dim
        return build_encoder(spec, size, self.config.hidden_dim)

    def build_decoder(self, spec: ModalitySpec) -> nn.Module:
        """(B, latent_dim + private_dim) codes [w, u_m] -> likelihood parameters of ``spec``."""
        size = self.config.latent_dim + self.config.private_dim
        return build_decoder(spec, size, self.config.hidden_dim, refine=self.refine(spec))

    def posteriors(self, data: dict[str, Tensor], present: Tensor) -> tuple[Gaussian, Gaussian]:
        """Every modality's shared and private posteriors, (B, M, D) and (B, M, P)."""
        mean, logvar = self.experts(data, present)  # (B, M, D + P)
        d = self.latent_dim
        return Gaussian(mean[..., :d], logvar[..., :d]), Gaussian(mean[..., d:], logvar[..., d:])

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """The shared posterior q(w | present modalities), a mixture, as the Gaussian of its mean
        and variance: ``embed`` gives the mixture's mean, a code of size ``latent_dim``."""
        present = self.present(data, mask)
        self.require_some_present(present)
        shared, _ = self.posteriors(data, present)
        return mixture_moments(shared, present)

    def generation_posteriors(
        self, given: dict[str, Tensor]
    ) -> tuple[Gaussian, dict[str, Gaussian]]:
        """q(w | x_m) of one given modality m per row, chosen uniformly (a mixture draw), and
        q(u_m | x_m) of every given modality."""
        mask = {m: torch.ones(len(x), dtype=torch.bool, device=x.device) for m, x in given.items()}
        present = self.present(given, mask)
        shared, private = self.posteriors(given, present)
        mixture = SubsetMixture(shared, present)
        chosen = mixture.component(mixture.sample_component())  # (B, D)
        own = {
            m: Gaussian(private.mean[:, i], private.logvar[:, i])  # (B, P)
            for i, m in enumerate(self.modalities)
            if m in given
        }
        return chosen, own

    def posterior_for_generation(self, given: dict[str, Tensor]) -> Gaussian:
        return self.generation_posteriors(given)[0]

    # -- decoding and generation ----------------------------------------------------------------

    def decode(
        self,
        z: Tensor,
        targets: Sequence[str] | None = None,
        *,
        inputs: dict[str, Tensor] | None = None,
        private: dict[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Likelihood parameters per target from shared codes ``z`` (..., D): target n's decoder
        reads [z, u_n], u_n (..., P) from ``private`` or, where it has none, drawn from p(u_n)."""
        private = private or {}
        out: dict[str, Tensor] = {}
        for n in self.check_targets(targets):
            u = private.get(n)
            if u is None:
                u = torch.randn(*z.shape[:-1], self.config.private_dim, device=z.device)
            out |= super().decode(torch.cat([z, u], dim=-1), [n], inputs=inputs)
        return out

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
        """As ``GenerativeModel.generate``, with ``latent`` holding shared codes (N, latent_dim).

        Private codes: a given target keeps its own, from q(u_m | x_m); the other targets draw u
        from p(u) (its mean, zero, at temperature 0), tempered as the shared code is. With
        ``latent`` they take zero: decoding a caller's codes is deterministic, as for every other
        model.
        """
        source = generation_source(n, given, latent)
        targets = self.check_targets(targets)
        own: dict[str, Tensor] = {}
        if source == "latent":
            assert latent is not None
            w = self.check_latent(latent)
        elif source == "given":
            assert given is not None
            shared, private = self.generation_posteriors(given)
            w = tempered(shared.mean, lambda: self.latent_code(shared), temperature)
            own = {
                m: tempered(g.mean, partial(self.latent_code, g), temperature)
                for m, g in private.items()
            }
        else:
            assert n is not None
            w = self.prior_draw(n, temperature)
        from_prior = 0.0 if source == "latent" else temperature  # a caller's codes: no noise
        shape = (len(w), self.config.private_dim)
        from_p_u = partial(tempered_normal, shape, from_prior, device=w.device)
        private_codes = {m: own[m] if m in own else from_p_u() for m in targets}
        return self.to_data(self.decode(w, targets, private=private_codes), targets)

    # -- the objective --------------------------------------------------------------------------

    def draws(self, posterior: Gaussian) -> Tensor:
        """K codes per stratum from (B, M, X) posteriors: (K, M, B, X), stratum m from expert m;
        posterior means with a latent loss that trains on means."""
        mean, logvar = posterior.mean.transpose(0, 1), posterior.logvar.transpose(0, 1)  # (M, B, X)
        shape = (self.config.k, *mean.shape)
        if not self.latent_loss.samples_codes:
            return mean.expand(shape)
        return Gaussian(mean.expand(shape), logvar.expand(shape)).rsample()

    def cross_log_likelihoods(
        self, w: Tensor, u: Tensor, data: dict[str, Tensor], present: Tensor
    ) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
        """log p(x_n | w, u_n) for every stratum's draws: (K, M_strata, B, M_targets); each
        target's decoded parameters, (K * M_strata, B, ...); and the private codes each target's
        decoder read, u_n (K * M_strata, B, P).

        ``w`` (K, M, B, D), ``u`` (K, M, B, P): stratum m's own draws. Stratum n hands its own u_n
        to decoder n; every other stratum hands a draw from the auxiliary prior r_n.
        """
        k, strata, batch = w.shape[:3]
        observed = self.observed(data, present)
        own = torch.eye(strata, dtype=torch.bool, device=w.device)  # (M_strata, M_targets)
        flat_w = self.flat_strata(w)
        columns: list[Tensor] = []
        decoded: dict[str, Tensor] = {}
        private: dict[str, Tensor] = {}
        for j, n in enumerate(self.modalities):
            if n not in observed:
                columns.append(w.new_zeros(k * strata, batch))
                continue
            aux = self.config.aux_prior_std * torch.randn_like(u)  # (K, M, B, P) ~ r_n
            u_n = torch.where(own[:, j].view(1, -1, 1, 1), u, aux)  # (K, M, B, P)
            private[n] = self.flat_strata(u_n)
            params = self.decode(flat_w, [n], inputs=observed, private={n: private[n]})
            columns.append(self.log_likelihoods(params, data, present)[..., j])  # (K*M, B)
            decoded |= params
        loglik = torch.stack(columns, dim=-1).reshape(k, strata, batch, -1)
        return loglik, decoded, private

    @staticmethod
    def flat_strata(codes: Tensor) -> Tensor:
        """(K, M, B, X) codes as ``decode`` takes them, batch last: (K * M, B, X)."""
        return codes.reshape(-1, *codes.shape[2:])

    def decode_detached(
        self, w: Tensor, private: dict[str, Tensor], targets: list[str]
    ) -> dict[str, Tensor]:
        """``targets`` decoded again from detached shared and private codes, for the critics."""
        detached = {n: private[n].detach() for n in targets}
        return self.decode(w.detach(), targets, private=detached)

    def log_ratio(
        self, w: Tensor, u: Tensor, shared: Gaussian, private: Gaussian, present: Tensor
    ) -> Tensor:
        """log q(w|X) + log q(u_m|x_m) - log p(w) - log p(u_m) at each stratum's draws:
        (K, M, B), a one-draw estimate of the KL term. q(w|X) mixes the present experts."""
        own = Gaussian(private.mean.transpose(0, 1), private.logvar.transpose(0, 1))  # (M, B, P)
        log_prior = self.prior_log_prob(w) + standard_normal_log_prob(u)
        return mixture_log_prob(shared, present, w) + own.log_prob(u) - log_prior  # (K, M, B)

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """Negative MMVAE+ objective (module docstring), batch mean; ``terms`` also hold the
        one-draw ``elbo`` (no rescale, beta 1) and, for ``iwae``/``dreg``, the trained bound."""
        beta = self.config.beta if beta is None else beta
        present = self.present(data, mask)
        self.require_some_present(present)
        shared, private = self.posteriors(data, present)
        w, u = self.draws(shared), self.draws(private)  # (K, M, B, D), (K, M, B, P)
        if self.config.estimator == "dreg":  # log q without the score term (Tucker et al. 2019)
            shared, private = shared.detach(), private.detach()
        loglik, decoded, read = self.cross_log_likelihoods(w, u, data, present)  # (K, M, B, M)
        # The critics see the draws of the strata each row has: (K * M, B), K outermost.
        critics = self.critic_penalty(
            decoded,
            data,
            present,
            drawn=present.T.repeat(self.config.k, 1),
            redecode=partial(self.decode_detached, self.flat_strata(w), read),
        )
        ratio = self.log_ratio(w, u, shared, private, present)  # (K, M, B)
        strata = present.T  # (M, B): the strata of each row
        counts = strata.sum(0).to(w.dtype)  # (B,)
        draws = counts * self.config.k  # (B,): draws averaged over per row
        mean_loglik = torch.where(strata.unsqueeze(-1), loglik, 0.0).sum((0, 1)) / draws[:, None]
        mean_ratio = torch.where(strata, ratio, 0.0).sum((0, 1)) / draws  # (B,)
        codes = w[:, strata].reshape(-1, w.shape[-1])  # (K * N, D): draws of present strata
        total, terms = self.objective(mean_loglik, mean_ratio, codes, present, beta, critics)
        if self.config.latent_loss != "kl":
            total = total + self.private_penalty(u[:, strata].reshape(-1, u.shape[-1]), beta, terms)
        if self.config.estimator != "elbo":
            log_weights = self.weighted_loglik(loglik) - beta * ratio  # (K, M, B)
            bound = self.importance_bound(log_weights, w, u)  # (M, B)
            total = -(torch.where(strata, bound, 0.0).sum(0) / counts).mean()
            terms[self.config.estimator] = -total.detach()
            total = self.with_critics(total, terms, critics)
        return LossOutput(total=total, terms=terms)

    def private_penalty(self, codes: Tensor, beta: float, terms: dict[str, Tensor]) -> Tensor:
        """The latent loss on the pooled private codes (N, P), its terms logged as private_*."""
        penalty = self.private_latent_loss(codes, codes.new_zeros(len(codes)))
        terms["private_latent"] = penalty.penalty.detach()
        terms |= {f"private_{k}": v for k, v in penalty.terms.items()}
        return beta * penalty.penalty + penalty.auxiliary

    def importance_bound(self, log_weights: Tensor, w: Tensor, u: Tensor) -> Tensor:
        """log mean_k exp(log w_k) per stratum and row, (M, B), from (K, M, B) log weights.

        ``dreg``: the value is the same, but the encoder's gradient is the doubly reparameterised
        one: the draws' gradients are scaled by the normalised weights once more, and the log q
        terms saw detached parameters (``loss``).
        """
        bound = torch.logsumexp(log_weights, dim=0) - math.log(self.config.k)  # (M, B)
        if self.config.estimator == "iwae":
            return bound
        normalised = torch.softmax(log_weights.detach(), dim=0)  # (K, M, B)
        for draws in (w, u):
            if draws.requires_grad:
                draws.register_hook(lambda grad: grad * normalised.unsqueeze(-1))
        surrogate = (normalised * log_weights).sum(0)  # its gradient is the DReG estimate
        return bound.detach() + surrogate - surrogate.detach()

    # -- likelihood -----------------------------------------------------------------------------

    @torch.no_grad()
    def importance_log_likelihood(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], k: int = 50
    ) -> Tensor:
        """log p(x) of each row's present modalities from ``k`` importance samples, (B,) nats, as
        ``LatentModel.importance_log_likelihood`` but with MMVAE+'s own proposal: w from the
        mixture of the present shared experts, each present u_n from q(u_n | x_n). Absent
        modalities, and their private codes, are integrated out exactly."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        present = self.present(data, mask)
        self.require_some_present(present)
        shared, private = self.posteriors(data, present)  # (B, M, D), (B, M, P)
        w = Gaussian(
            *mixture_components(shared.mean, shared.logvar, present, k)
        ).rsample()  # (K, B, D)
        u_posterior = Gaussian(
            private.mean.expand(k, *private.mean.shape),
            private.logvar.expand(k, *private.mean.shape),
        )
        u = u_posterior.rsample()  # (K, B, M, P)
        observed = self.observed(data, present)
        loglik = w.new_zeros(w.shape[:-1])  # (K, B)
        for j, n in enumerate(self.modalities):
            if n in observed:
                params = self.decode(w, [n], inputs=observed, private={n: u[:, :, j]})
                loglik = loglik + self.log_likelihoods(params, data, present)[..., j]
        log_u = standard_normal_log_prob(u) - u_posterior.log_prob(u)  # (K, B, M)
        log_u = torch.where(present, log_u, 0.0).sum(-1)  # (K, B)
        log_w = loglik + log_u + self.prior_log_prob(w) - mixture_log_prob(shared, present, w)
        return torch.logsumexp(log_w, dim=0) - math.log(k)
