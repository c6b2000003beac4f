"""The latent space: Gaussian posteriors, fusion of experts, and regularisers towards the prior."""

from mmlatent.latent.distributions import LOGVAR_MAX, LOGVAR_MIN, Gaussian, clamp_logvar
from mmlatent.latent.fusion import (
    SUBSET_MODES,
    SubsetMixture,
    enumerate_subsets,
    mixture_of_subsets,
    product_of_experts,
    subset_matrix,
    usable_subsets,
)
from mmlatent.latent.regularisers import (
    REGULARISERS,
    get_regulariser,
    imq_kernel,
    mmd,
    rbf_kernel,
    register_regulariser,
)

__all__ = [
    "LOGVAR_MAX",
    "LOGVAR_MIN",
    "REGULARISERS",
    "SUBSET_MODES",
    "Gaussian",
    "SubsetMixture",
    "clamp_logvar",
    "enumerate_subsets",
    "get_regulariser",
    "imq_kernel",
    "mixture_of_subsets",
    "mmd",
    "product_of_experts",
    "rbf_kernel",
    "register_regulariser",
    "subset_matrix",
    "usable_subsets",
]
