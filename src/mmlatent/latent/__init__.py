"""The latent space: Gaussian posteriors, fusion of experts, and losses toward the prior."""

from mmlatent.latent.distributions import (
    LOGVAR_MAX,
    LOGVAR_MIN,
    Gaussian,
    clamp_logvar,
    standard_normal_log_prob,
)
from mmlatent.latent.fusion import (
    SUBSET_MODES,
    SubsetMixture,
    enumerate_subsets,
    mixture_components,
    mixture_log_prob,
    mixture_moments,
    mixture_of_subsets,
    product_of_experts,
    subset_matrix,
    usable_subsets,
)
from mmlatent.latent.losses import (
    LatentLoss,
    LatentPenalty,
    build_latent_loss,
    imq_kernel,
    mmd,
    rbf_kernel,
)
from mmlatent.latent.priors import PRIORS, GaussianPrior, LaplacePrior, Prior

__all__ = [
    "LOGVAR_MAX",
    "LOGVAR_MIN",
    "PRIORS",
    "SUBSET_MODES",
    "Gaussian",
    "GaussianPrior",
    "LaplacePrior",
    "LatentLoss",
    "LatentPenalty",
    "Prior",
    "SubsetMixture",
    "build_latent_loss",
    "clamp_logvar",
    "enumerate_subsets",
    "imq_kernel",
    "mixture_components",
    "mixture_log_prob",
    "mixture_moments",
    "mixture_of_subsets",
    "mmd",
    "product_of_experts",
    "rbf_kernel",
    "standard_normal_log_prob",
    "subset_matrix",
    "usable_subsets",
]
