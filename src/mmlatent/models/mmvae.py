"""MMVAE: Shi, Siddharth, Paige & Torr, "Variational Mixture-of-Experts Autoencoders for
Multi-Modal Deep Generative Models", NeurIPS 2019. https://arxiv.org/abs/1911.03393

The joint posterior is a uniform mixture of the unimodal experts, q(z|X) = 1/M sum_m q_m(z|x_m).
The objective is *stratified* over the mixture, as in the paper: K codes are drawn from every
expert m, each scores the likelihood of every modality, and the log weight of a draw is

    log w = sum_j w_j log p(x_j | z) + beta (log p(z) - log q(z|X)),   z ~ q_m(z|x_m),

with the *mixture* density in the denominator. ``estimator`` picks how the weights combine:
``elbo`` averages the log weights (the stratified ELBO with a Monte Carlo KL; the authors' code
instead uses analytic unimodal KLs with importance-weighted cross-reconstructions), ``iwae``
takes log(mean_k w) per expert (tighter as K grows), and ``dreg`` has the IWAE value with the
doubly-reparameterised gradients of Tucker et al. 2019 (https://arxiv.org/abs/1810.04152),
which the paper trains with. With K = 1 the three have the same value.

Missing data: each row's mixture, and the strata it averages over, range over the modalities it
has, and a modality it lacks contributes no likelihood. ``posterior="laplace"`` uses Laplace
experts and a Laplace prior as the paper does (``latent.laplace``): Laplace(0, 1), or with
``prior="learned"`` a diagonal Laplace learned with the model, as the paper's code does; that
code also ties the posterior scales with a softmax, which is not done here.

With a latent loss other than ``kl`` (only under ``estimator="elbo"``) the prior leaves the
bound: the model trains a reconstruction of every modality from the stratified draws plus
``beta`` times that loss on all the draws (a multimodal WAE / AAE with mixture fusion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mmlatent.latent import (
    Gaussian,
    mixture_components,
    mixture_log_prob,
    mixture_moments,
)
from mmlatent.latent.laplace import Laplace
from mmlatent.latent.priors import LaplacePrior, Prior
from mmlatent.models.base import Capabilities, LossOutput
from mmlatent.models.latent_model import LatentModel, LatentModelConfig, require
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec

ESTIMATORS: tuple[str, ...] = ("elbo", "iwae", "dreg")
POSTERIORS: tuple[str, ...] = ("gaussian", "laplace")


@dataclass(kw_only=True)
class MMVAEConfig(LatentModelConfig):
    estimator: str = "elbo"
    """How the stratified log weights make the bound: ``elbo`` (their mean), ``iwae`` (log of
    their mean, Burda et al. 2016) or ``dreg`` (IWAE with doubly-reparameterised gradients, the
    paper's choice). ``iwae`` and ``dreg`` need ``latent_loss="kl"``: the prior is in the bound."""
    k: int = 1
    """Codes drawn from each modality's expert per step (K of the IWAE bound)."""
    posterior: str = "gaussian"
    """Family of the experts and the prior: ``gaussian`` with a Gaussian prior, or ``laplace``
    with a Laplace one as in the paper (needs ``latent_loss="kl"``; the others match N(0, I)).
    ``prior`` picks the fixed one (N(0, I), Laplace(0, 1)) or a learned one."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.estimator in ESTIMATORS,
            "estimator",
            f"must be one of {ESTIMATORS}",
            self.estimator,
        )
        require(self.k >= 1, "k", "must be >= 1", self.k)
        require(
            self.posterior in POSTERIORS,
            "posterior",
            f"must be one of {POSTERIORS}",
            self.posterior,
        )
        require(
            self.estimator == "elbo" or self.latent_loss == "kl",
            "estimator",
            f"must be 'elbo' with latent_loss {self.latent_loss!r} (only the KL is a bound)",
            self.estimator,
        )
        require(
            self.posterior == "gaussian" or self.latent_loss == "kl",
            "posterior",
            f"must be 'gaussian' with latent_loss {self.latent_loss!r} (it matches N(0, I))",
            self.posterior,
        )


def stratified_mean(values: Tensor, present: Tensor) -> Tensor:
    """Average over each row's present strata: (..., B, M) -> (..., B); absent ones never read."""
    weights = present / present.sum(-1, keepdim=True)  # (B, M)
    return (torch.where(present, values, 0.0) * weights).sum(-1)


@register_model("mmvae")
class MMVAE(LatentModel):
    """Mixture-of-experts VAE trained on the stratified ELBO / IWAE / DReG bound."""

    config_class = MMVAEConfig
    capabilities = Capabilities(
        family="multimodal VAE",
        fusion="mixture of experts",
        paper=(
            "Shi, Siddharth, Paige & Torr, Variational Mixture-of-Experts Autoencoders for "
            "Multi-Modal Deep Generative Models, NeurIPS 2019"
        ),
        decoder_critics=True,
    )
    config: MMVAEConfig

    def __init__(self, specs: dict[str, ModalitySpec], config: MMVAEConfig | None = None) -> None:
        super().__init__(specs, config if config is not None else MMVAEConfig())

    # -- the expert family and the prior ----------------------------------------------------------

    def expert(self, mean: Tensor, logvar: Tensor) -> Gaussian | Laplace:
        """The configured family with this mean and variance exp(logvar)."""
        if self.config.posterior == "laplace":
            return Laplace.from_mean_logvar(mean, logvar)
        return Gaussian(mean, logvar)

    def build_prior(self) -> Prior:
        """Laplace experts have a Laplace prior: Laplace(0, 1), or a diagonal one learned."""
        if self.config.posterior == "laplace":
            return LaplacePrior(self.latent_dim, learned=self.config.prior == "learned")
        return super().build_prior()

    # -- posteriors -------------------------------------------------------------------------------

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """A Gaussian summary of each row's mixture, for embeddings: the mixture's own mean (the
        average of the present experts' means) and its per-dimension variance (moment matching:
        mean_m [var_m + (mean_m - mean)^2], which a Laplace expert enters with its 2 b^2)."""
        present = self.present(data, mask)
        self.require_some_present(present)
        return mixture_moments(Gaussian(*self.experts(data, present)), present)

    def posterior_for_generation(  # type: ignore[override]  # a Laplace draws the same way
        self, given: dict[str, Tensor]
    ) -> Gaussian | Laplace:
        """A draw from the mixture: one uniformly chosen given modality's expert per row."""
        mask = {m: torch.ones(len(x), dtype=torch.bool, device=x.device) for m, x in given.items()}
        present = self.present(given, mask)
        mean, logvar = mixture_components(*self.experts(given, present), present, 1)
        return self.expert(mean[0], logvar[0])

    @torch.no_grad()
    def importance_log_likelihood(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], k: int = 50
    ) -> Tensor:
        """log p(x) of each row's present modalities from ``k`` importance samples, (B,) nats, as
        ``LatentModel.importance_log_likelihood`` but with the model's own proposal (k draws
        from the mixture of the present experts) and prior (a Laplace one for Laplace experts).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        present = self.present(data, mask)
        self.require_some_present(present)
        mean, logvar = self.experts(data, present)  # (B, M, D)
        z = self.expert(*mixture_components(mean, logvar, present, k)).rsample()  # (K, B, D)
        observed = self.observed(data, present)
        params = self.decode(z, list(observed), inputs=observed)
        loglik = self.log_likelihoods(params, data, present).sum(-1)  # (K, B), unweighted
        log_q = self.mixture_log_prob(z.unsqueeze(2), mean, logvar, present).squeeze(2)  # (K, B)
        log_w = loglik + self.prior_log_prob(z) - log_q
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    # -- the stratified objective -----------------------------------------------------------------

    def stratified_draws(self, mean: Tensor, logvar: Tensor) -> Tensor:
        """K codes from every expert (B, M, D): (K, B, M, D); the means for a plain AE."""
        k = self.config.k
        experts = self.expert(mean.expand(k, *mean.shape), logvar.expand(k, *logvar.shape))
        return experts.rsample() if self.latent_loss.samples_codes else experts.mean

    def mixture_log_prob(self, z: Tensor, mean: Tensor, logvar: Tensor, present: Tensor) -> Tensor:
        """log q(z | X) = log mean_{j present} q_j(z) for draws z (K, B, M, D): (K, B, M).
        (Any (K, B, S, D) broadcasts: S = 1 scores one draw per row.)"""
        experts = self.expert(mean.unsqueeze(1), logvar.unsqueeze(1))  # (B, 1, M_j, D)
        return mixture_log_prob(experts, present.unsqueeze(1), z)

    @staticmethod
    def by_stratum(z: Tensor) -> Tensor:
        """Draws (K, B, M, D) as ``decode`` takes them, batch last: (K, M, B, D)."""
        return z.permute(0, 2, 1, 3)

    def cross_logliks(
        self, z: Tensor, data: dict[str, Tensor], present: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """log p(x_j | z) of every modality j for every draw z (K, B, M, D): (K, B, M, M_j),
        0 where x_j is absent; and the parameters decoded, (K, M_strata, B, ...)."""
        observed = self.observed(data, present)
        params = self.decode(self.by_stratum(z), list(observed), inputs=observed)  # (K, M, B, ...)
        loglik = self.log_likelihoods(params, data, present).transpose(1, 2)  # (K, B, M, M_j)
        return loglik, params

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """The negative stratified bound (or reconstruction + latent loss; see the module).

        Terms: ``rec_<m>`` (NLL averaged over strata and draws), ``kl`` (Monte Carlo estimate of
        KL(q(z|X) || p(z)) on the stratified draws), ``elbo`` (the estimator's bound, unweighted,
        beta 1), and under ``elbo`` the latent loss's own.
        """
        beta = self.config.beta if beta is None else beta
        present = self.present(data, mask)
        self.require_some_present(present)
        mean, logvar = self.experts(data, present)  # (B, M, D) each
        z = self.stratified_draws(mean, logvar)  # (K, B, M, D)
        loglik, params = self.cross_logliks(z, data, present)  # (K, B, M, M_j)
        critics = self.critic_penalty(  # on the strata each row has
            params, data, present, drawn=present.T, redecode=self.redecoder(self.by_stratum(z))
        )
        if self.config.estimator == "dreg":  # log q sees the draws, not the parameters
            mean, logvar = mean.detach(), logvar.detach()
        log_ratio = self.prior_log_prob(z) - self.mixture_log_prob(z, mean, logvar, present)
        kl = -stratified_mean(log_ratio.mean(0), present)  # (B,)
        # (B, M_j): each row's likelihoods averaged over its strata and draws
        mean_loglik = stratified_mean(loglik.mean(0).transpose(1, 2), present.unsqueeze(1))
        if self.config.estimator == "elbo":
            codes = z[:, present]  # (K, N, D): the draws of every present expert
            total, terms = self.objective(
                mean_loglik, kl, codes.reshape(-1, z.shape[-1]), present, beta, critics
            )
            return LossOutput(total=total, terms=terms)
        total, bound = self.importance_weighted(loglik, log_ratio, z, present, beta)
        terms = self.reconstruction_terms(mean_loglik, present)
        terms |= {"kl": kl.mean(), "elbo": bound.mean()}
        return LossOutput(total=self.with_critics(total, terms, critics), terms=terms)

    def importance_weighted(
        self, loglik: Tensor, log_ratio: Tensor, z: Tensor, present: Tensor, beta: float
    ) -> tuple[Tensor, Tensor]:
        """The loss of ``iwae`` / ``dreg`` and the unweighted bound per row (B,).

        ``loglik`` (K, B, M, M_j), ``log_ratio`` = log p(z) - log q(z|X) (K, B, M), draws ``z``.
        DReG (Tucker et al. 2019; ``m_dreg`` in the MMVAE code): log q has no gradient to
        its parameters, the loss is sum_k w~_k log w_k with normalised weights w~ held fixed, and
        the gradient reaching the encoders through z is scaled by w~ once more, so encoders see
        squared weights. The value stays the IWAE bound.
        """
        log_w = self.weighted_loglik(loglik) + beta * log_ratio  # (K, B, M)
        log_k = math.log(z.shape[0])
        iwae = stratified_mean(torch.logsumexp(log_w, 0) - log_k, present)  # (B,)
        unweighted = loglik.sum(-1) + log_ratio  # (K, B, M)
        bound = stratified_mean(torch.logsumexp(unweighted, 0) - log_k, present).detach()
        if self.config.estimator == "iwae":
            return -iwae.mean(), bound
        weights = torch.softmax(log_w.detach(), dim=0)  # (K, B, M), normalised over draws
        if z.requires_grad:
            z.register_hook(lambda grad: grad * weights.unsqueeze(-1))
        surrogate = stratified_mean((weights * log_w).sum(0), present)  # (B,)
        value = iwae.detach() + (surrogate - surrogate.detach())  # IWAE value, DReG gradient
        return -value.mean(), bound
