"""Fusing per-modality posteriors into one: product of experts (PoE), mixtures of subsets.

MoPoE (Sutter, Daunhawer & Vogt, "Generalized Multimodal ELBO", ICLR 2021) is a uniform mixture
over subsets of modalities of the PoE of each subset. The two classic models are the same code
with other subsets: PoE / MVAE (Wu & Goodman 2018) keeps only the full set, MoE / MMVAE
(Shi et al. 2019) only singletons. Shapes: B batch, M modalities, S subsets, D latent dims.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import torch
from torch import Tensor

from mmlatent.latent.distributions import Gaussian

SUBSET_MODES: tuple[str, ...] = ("all", "full", "singletons")


def product_of_experts(
    mean: Tensor, logvar: Tensor, expert_mask: Tensor, *, prior: bool = True
) -> Gaussian:
    """Precision-weighted product of the unmasked experts (..., M, D) and a N(0, I) prior expert.

    Computed in log space: the joint log-precision is a logsumexp of ``-logvar``, and each mean is
    weighted by ``exp(logvar_joint - logvar_m) <= 1``, so nothing overflows however extreme an
    expert is. Masked-out experts get log-precision -inf (weight exactly 0) and their values never
    reach the result, even when they are NaN. The prior keeps the product proper when every expert
    is masked (Wu & Goodman 2018, Sec. 2); with ``prior=False`` it is left out (JMVAE's product of
    unimodal experts, each already trained toward the full posterior), and every row then needs
    an unmasked expert.
    """
    mask = expert_mask.unsqueeze(-1)  # (..., M, 1)
    neg_logvar = torch.where(mask, -logvar, float("-inf"))  # (..., M, D)
    if prior:
        prior_term = torch.zeros_like(
            neg_logvar[..., :1, :]
        )  # (..., 1, D): N(0, I)'s log-precision
        neg_logvar_all = torch.cat([neg_logvar, prior_term], dim=-2)
    else:
        neg_logvar_all = neg_logvar
    joint_logvar = -torch.logsumexp(neg_logvar_all, dim=-2)  # (..., D)
    weights = torch.exp(joint_logvar.unsqueeze(-2) + neg_logvar)  # (..., M, D)
    joint_mean = (weights * torch.where(mask, mean, 0.0)).sum(-2)  # (..., D); prior mean is 0
    return Gaussian(joint_mean, joint_logvar)


def enumerate_subsets(names: Sequence[str], mode: str) -> list[tuple[str, ...]]:
    """The subsets a mixture ranges over: ``all`` non-empty ones (MoPoE, 2^M - 1), only the
    ``full`` set (PoE/MVAE), or ``singletons`` (MoE/MMVAE); in the order of ``names``."""
    names = list(names)
    if mode == "all":
        return [c for k in range(1, len(names) + 1) for c in combinations(names, k)]
    if mode == "full":
        return [tuple(names)]
    if mode == "singletons":
        return [(n,) for n in names]
    raise ValueError(f"subset mode must be one of {SUBSET_MODES}, got {mode!r}")


def subset_matrix(subsets: Sequence[Sequence[str]], names: Sequence[str]) -> Tensor:
    """(S, M) bool: entry [s, m] says whether modality ``names[m]`` belongs to subset s."""
    index = {n: i for i, n in enumerate(names)}
    out = torch.zeros(len(subsets), len(names), dtype=torch.bool)
    for s, subset in enumerate(subsets):
        for name in subset:
            out[s, index[name]] = True
    return out


def require_some_present(present: Tensor) -> None:
    """``ValueError`` unless every row of ``present`` (B, M) has a modality.

    Reading the answer on the host would make a GPU step wait for the device, so on an
    accelerator (and inside ``torch.compile``) the check is a device-side assert instead: a
    bad batch still stops the run, at the next kernel launch, without a sync on good ones.
    """
    every_row = present.any(-1).all()
    if present.device.type != "cpu" or torch.compiler.is_compiling():
        torch._assert_async(every_row, "every sample needs at least one present modality")
    elif not every_row:
        raise ValueError("every sample needs at least one present modality")


def usable_subsets(present: Tensor, subsets: Tensor) -> Tensor:
    """(B, S) bool: a subset is usable for a sample only if all its modalities are present.

    ``present`` is (B, M) bool, ``subsets`` (S, M) bool.
    """
    missing = subsets.unsqueeze(0) & ~present.unsqueeze(1)  # (B, S, M)
    return ~missing.any(-1)


@dataclass
class SubsetMixture:
    """Uniform mixture, per sample, of the PoE posteriors of its usable subsets."""

    components: Gaussian
    """PoE posterior of every candidate subset, (B, C, D)."""
    usable: Tensor
    """(B, C) bool: which components belong to each sample's mixture (at least one)."""

    def mean_component_kl(self, kl_to_prior: Callable[[Gaussian], Tensor]) -> Tensor:
        """Mean over usable components of KL(component || prior), shape (B,).

        An upper bound on the KL of the mixture itself (convexity of KL; Sutter et al. 2021,
        Lemma 2), and the one the MoPoE objective and the authors' code minimise.
        """
        kl = kl_to_prior(self.components)  # (B, C)
        weights = self.usable.to(kl.dtype)
        return (torch.where(self.usable, kl, 0.0)).sum(-1) / weights.sum(-1)

    def sample_component(self, generator: torch.Generator | None = None) -> Tensor:
        """One usable component index per sample, uniformly: (B,) long.

        The largest of i.i.d. uniform keys over the usable components is a uniform choice among
        them; unlike ``torch.multinomial``, whose argument check reads the device, it never
        makes the host wait.
        """
        keys = torch.empty(self.usable.shape, device=self.usable.device)
        keys.uniform_(generator=generator)  # (B, C) in [0, 1)
        return torch.where(self.usable, keys, -1.0).argmax(-1)

    def component(self, index: Tensor) -> Gaussian:
        """The chosen component of each sample as a (B, D) Gaussian."""
        gather = index.view(-1, 1, 1).expand(-1, 1, self.components.mean.shape[-1])  # (B, 1, D)
        mean = self.components.mean.gather(1, gather).squeeze(1)  # (B, D)
        logvar = self.components.logvar.gather(1, gather).squeeze(1)  # (B, D)
        return Gaussian(mean, logvar)

    def rsample(self, generator: torch.Generator | None = None) -> Tensor:
        """z ~ mixture: pick a usable subset uniformly, then draw from its PoE. (B, D)."""
        return self.component(self.sample_component(generator)).rsample(generator)


def mixture_of_subsets(
    mean: Tensor, logvar: Tensor, present: Tensor, subsets: Tensor
) -> SubsetMixture:
    """Mixture over the usable ``subsets`` (S, M) of experts (B, M, D) given ``present`` (B, M).

    A sample with no usable subset (only possible with ``full`` and a missing modality) falls back
    to the PoE of the modalities it has, which is how MVAE treats missing data (Wu & Goodman 2018).
    Raises ``ValueError`` if a sample has no modality at all.
    """
    require_some_present(present)
    usable = usable_subsets(present, subsets)  # (B, S)
    fallback = ~usable.any(-1, keepdim=True)  # (B, 1)
    experts = torch.cat(
        [subsets.unsqueeze(0).expand(len(present), -1, -1), present.unsqueeze(1)], dim=1
    )  # (B, S + 1, M)
    components = product_of_experts(mean.unsqueeze(1), logvar.unsqueeze(1), experts)  # (B, S+1, D)
    return SubsetMixture(components, torch.cat([usable, fallback], dim=1))


# -- uniform mixtures of unimodal experts (MMVAE, MMVAE+) -----------------------------------------


def mixture_log_prob(experts: Any, present: Tensor, z: Tensor) -> Tensor:
    """log of the uniform mixture of the present experts at codes z: a logsumexp over experts.

    ``experts`` is a distribution with ``log_prob`` (a ``Gaussian`` or ``Laplace``) of shape
    (..., M, D); ``present`` (..., M) bool and ``z`` (..., D) broadcast against it. Absent
    experts get -inf (weight exactly 0). Returns the broadcast batch shape, without M.
    """
    log_q = experts.log_prob(z.unsqueeze(-2))  # (..., M)
    log_q = torch.where(present, log_q, float("-inf"))
    return torch.logsumexp(log_q, dim=-1) - torch.log(present.sum(-1).to(z.dtype))


def mixture_moments(experts: Gaussian, present: Tensor) -> Gaussian:
    """The Gaussian with the mean and variance of the uniform mixture of the present experts.

    ``experts`` (B, M, D), ``present`` (B, M). The variance is the mean of the experts'
    variances plus the spread of their means, a sum of non-negative terms.
    """
    keep = present.unsqueeze(-1)  # (B, M, 1)
    weights = present.to(experts.mean.dtype) / present.sum(-1, keepdim=True)  # (B, M)
    weights = weights.unsqueeze(-1)  # (B, M, 1)
    means = torch.where(keep, experts.mean, 0.0)
    mean = (weights * means).sum(1)  # (B, D)
    spread = torch.where(keep, experts.var + (means - mean.unsqueeze(1)).pow(2), 0.0)
    return Gaussian(mean, torch.log((weights * spread).sum(1)))


def mixture_components(
    mean: Tensor, logvar: Tensor, present: Tensor, k: int
) -> tuple[Tensor, Tensor]:
    """k components per row, drawn uniformly from its present experts (B, M, D): their
    parameters, (K, B, D) each; a draw from them is a draw from the mixture."""
    pick = torch.multinomial(present.float(), k, replacement=True).T  # (K, B)
    index = pick[..., None, None].expand(-1, -1, 1, mean.shape[-1])  # (K, B, 1, D)
    shape = (k, *mean.shape)  # (K, B, M, D)
    chosen_mean, chosen_logvar = (
        x.expand(shape).gather(2, index).squeeze(2) for x in (mean, logvar)
    )  # (K, B, D) each
    return chosen_mean, chosen_logvar
