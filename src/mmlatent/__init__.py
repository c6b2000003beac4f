"""mmlatent: one latent space for images, text and audio; generate any modality from any other."""

from mmlatent.registry import DATASETS, MODALITIES, MODELS, SAMPLERS
from mmlatent.types import Batch, ModalitySpec

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "MODALITIES",
    "MODELS",
    "SAMPLERS",
    "Batch",
    "ModalitySpec",
    "__version__",
    "load_run",
]


def load_run(path):
    """Load a run directory written by ``mmlatent fit`` (see :class:`mmlatent.run.Run`)."""
    from mmlatent.run import Run

    return Run.load(path)
