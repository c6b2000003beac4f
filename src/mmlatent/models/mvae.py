"""MVAE: Wu & Goodman, "Multimodal Generative Models for Scalable Weakly-Supervised Learning",
NeurIPS 2018. https://arxiv.org/abs/1802.05335

The joint posterior is a product of experts: the N(0, I) prior expert times one Gaussian expert
per present modality (``latent.fusion.product_of_experts``). A PoE trained on the joint ELBO
alone lets the unimodal experts go uncalibrated, so the paper trains with its *sub-sampled*
objective: the sum of the ELBO of all modalities, the ELBO of each single modality, and the
ELBOs of ``n_random_subsets`` subsets drawn at random every training step (validation takes
the expectation of that draw instead). Each sub-ELBO infers z from
the PoE of its subset's experts and reconstructs only that subset:

    ELBO(X) = E_{q(z|X)}[sum_{x in X} w_x log p(x | z)] - beta KL(q(z|X) || p(z)).

Missing data (the paper's weak supervision): a row's joint term is the ELBO of the modalities it
has; a singleton or random subset counts for a row only if the row has the whole subset, and not
when the subset *is* the row's own set, so every row sums the ELBOs of distinct subsets of what
it observed (a row with one modality trains on that modality's ELBO once, not twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from itertools import combinations

import torch
from torch import Tensor

from mmlatent.latent import Gaussian, product_of_experts, subset_matrix
from mmlatent.models.base import Capabilities, LossOutput
from mmlatent.models.latent_model import LatentModel, LatentModelConfig, require
from mmlatent.registry import register_model
from mmlatent.types import ModalitySpec


@dataclass(kw_only=True)
class MVAEConfig(LatentModelConfig):
    n_random_subsets: int = 1
    """Subsets of 2 to M-1 modalities (distinct, drawn uniformly each step) whose ELBOs join the
    joint and single-modality ELBOs; 0 keeps the objective of the paper's bimodal experiments.
    With M <= 2 modalities there are no such subsets and it has no effect."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.n_random_subsets >= 0, "n_random_subsets", "must be >= 0", self.n_random_subsets
        )


@register_model("mvae")
class MVAE(LatentModel):
    """Product-of-experts VAE trained on the sub-sampled multimodal ELBO."""

    config_class = MVAEConfig
    capabilities = Capabilities(
        family="multimodal VAE",
        fusion="product of experts",
        paper=(
            "Wu & Goodman, Multimodal Generative Models for Scalable Weakly-Supervised "
            "Learning, NeurIPS 2018"
        ),
        decoder_critics=True,
    )
    config: MVAEConfig
    fixed_subsets: Tensor  # (T0, M) bool: the full set, then each singleton (when M > 1)
    random_candidates: Tensor  # (C, M) bool: every subset of 2 to M-1 modalities

    def __init__(self, specs: dict[str, ModalitySpec], config: MVAEConfig | None = None) -> None:
        super().__init__(specs, config if config is not None else MVAEConfig())
        names = self.modalities
        fixed = [tuple(names)] + ([(m,) for m in names] if len(names) > 1 else [])
        candidates = [c for k in range(2, len(names)) for c in combinations(names, k)]
        self.register_buffer("fixed_subsets", subset_matrix(fixed, names), persistent=False)
        self.register_buffer(
            "random_candidates", subset_matrix(candidates, names), persistent=False
        )

    def encode(self, data: dict[str, Tensor], mask: dict[str, Tensor]) -> Gaussian:
        """PoE of the prior and every present modality's expert."""
        present = self.present(data, mask)
        self.require_some_present(present)
        mean, logvar = self.experts(data, present)
        return product_of_experts(mean, logvar, present)

    def objective_subsets(self) -> tuple[Tensor, Tensor]:
        """This step's ELBO terms, (T, M) bool, and their weights, (T,): the full set and the
        singletons (weight 1), then the random subsets of 2 to M-1 modalities.

        Training draws ``n_random_subsets`` distinct ones afresh (weight 1). Out of training
        (validation, test) every candidate counts with weight n / C, the exact expectation of
        that draw: the same objective without its sampling noise, so early stopping and the best
        checkpoint do not follow which subset a validation batch happened to draw.
        """
        n = min(self.config.n_random_subsets, len(self.random_candidates))
        fixed = self.fixed_subsets
        if n == 0:
            return fixed, fixed.new_ones(len(fixed), dtype=torch.float32)
        if self.training:
            pick = torch.randperm(len(self.random_candidates), device=fixed.device)[:n]
            extra = self.random_candidates[pick]
            extra_weight = 1.0
        else:
            extra = self.random_candidates
            extra_weight = n / len(extra)
        weights = torch.cat(
            [
                fixed.new_ones(len(fixed), dtype=torch.float32),
                fixed.new_full((len(extra),), extra_weight, dtype=torch.float32),
            ]
        )
        return torch.cat([fixed, extra]), weights

    def term_indices(self, subsets: Tensor) -> dict[str, Tensor]:
        """For each modality some term reconstructs, the indices of those terms (rows of
        ``subsets``): (T_m,)."""
        indices = {m: subsets[:, i].nonzero().squeeze(-1) for i, m in enumerate(self.modalities)}
        return {m: t for m, t in indices.items() if len(t) > 0}

    def subset_logliks(
        self,
        z: Tensor,
        indices: dict[str, Tensor],
        data: dict[str, Tensor],
        present: Tensor,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """log p(x_m | z_t) for the modalities of each term t: (T, B, M), 0 outside the subset
        and where x_m is absent, and each modality decoded from those terms, (T_m, B, ...).
        ``indices``: ``term_indices``. One decoder call per modality over all its terms."""
        observed = self.observed(data, present)
        decoded = self.decode_terms(z, indices, list(observed), inputs=observed)
        columns: list[Tensor] = []
        for i, m in enumerate(self.modalities):
            column = z.new_zeros(z.shape[:2])  # (T, B)
            if m in decoded:
                ll = self.log_likelihoods({m: decoded[m]}, data, present)[..., i]  # (T_m, B)
                column = column.index_copy(0, indices[m], ll)
            columns.append(column)
        return torch.stack(columns, dim=-1), decoded  # (T, B, M)

    def decode_terms(
        self,
        z: Tensor,
        indices: dict[str, Tensor],
        targets: list[str],
        inputs: dict[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Each target decoded from the codes of the terms that reconstruct it (``indices``),
        (T_m, B, ...); a target no term holds is left out."""
        out: dict[str, Tensor] = {}
        for m in targets:
            if m in indices:
                out |= self.decode(z[indices[m]], [m], inputs=inputs)
        return out

    def subset_term(
        self, loglik: Tensor, kl: Tensor, z: Tensor, counted: Tensor, beta: float
    ) -> Tensor:
        """One sub-ELBO's share of the loss: its negative (weighted) ELBO summed over the rows it
        counts for, divided by the batch size. ``loglik`` (B, M), ``kl`` (B,), ``z`` (B, D).

        The latent loss sees only the counted rows' codes (so ``mmd`` compares them, not zeros)
        and is weighted by the fraction of rows counted, which for ``kl`` is exactly the sum of
        the counted rows' KLs over B.
        """
        if not bool(counted.any()):
            return loglik.new_zeros(())
        batch = len(counted)
        rec = -torch.where(counted, self.weighted_loglik(loglik), 0.0).sum() / batch
        penalty = self.latent_penalty(z[counted], kl[counted])
        share = counted.sum() / batch
        return rec + share * (beta * penalty.penalty + penalty.auxiliary)

    def loss(
        self, data: dict[str, Tensor], mask: dict[str, Tensor], *, beta: float | None = None
    ) -> LossOutput:
        """Negative sub-sampled ELBO: joint + single-modality + random-subset terms.

        Terms: those of the joint ELBO (``rec_<m>``, ``kl``, ``elbo``, ``latent``, ...), and
        ``elbo_<m>``, the unweighted ELBO of modality m alone over the rows that have it.
        """
        beta = self.config.beta if beta is None else beta
        present = self.present(data, mask)
        self.require_some_present(present)
        mean, logvar = self.experts(data, present)  # (B, M, D) each
        subsets, weights = self.objective_subsets()  # (T, M), (T,)
        # The joint term is drawn first; its PoE is that of each row's present modalities.
        posteriors = [product_of_experts(mean, logvar, s & present) for s in subsets]
        z = torch.stack([self.latent_code(q) for q in posteriors])  # (T, B, D)
        kl = torch.stack([self.prior_kl(q) for q in posteriors])  # (T, B)
        indices = self.term_indices(subsets)
        loglik, decoded = self.subset_logliks(z, indices, data, present)  # (T, B, M)
        redecode = partial(self.decode_terms, z.detach(), indices)
        critics = self.critic_penalty(decoded, data, present, redecode=redecode)
        total, terms = self.objective(loglik[0], kl[0], z[0], present, beta, critics)

        missing = subsets.unsqueeze(1) & ~present  # (T, B, M): subset parts a row lacks
        holds = ~missing.any(-1)  # (T, B): the row has the whole subset
        counted = holds & (subsets.unsqueeze(1) != present).any(-1)  # ... and it is not the joint
        for t in range(1, len(subsets)):
            term = self.subset_term(loglik[t], kl[t], z[t], counted[t], beta)
            total = total + weights[t] * term

        elbo = loglik.sum(-1) - kl  # (T, B) unweighted
        for t in range(1, len(self.fixed_subsets)):  # the singletons, in modality order
            rows = holds[t]
            terms[f"elbo_{self.modalities[t - 1]}"] = torch.where(
                rows, elbo[t], 0.0
            ).sum() / rows.sum().clamp_min(1)
        return LossOutput(total=total, terms=terms)
