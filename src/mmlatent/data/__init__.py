"""Data layer: modalities (raw <-> tensors), data sets held as tensors, and the Lightning data module.

Heavy modules (librosa, Lightning) load only when the piece that needs them is used.
"""

from mmlatent.data.errors import DataError

__all__ = ["DataError"]
