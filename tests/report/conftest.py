"""Report tests reuse the evaluation fakes (``tests/evaluation/evaluation_fakes.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluation"))
