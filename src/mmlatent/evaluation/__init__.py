"""Scoring models against real data: judges, coherence, reconstruction.

Typical use::

    judges = train_judges(data)            # trained once per data set, then loaded from cache
    result = evaluate(model, data, judges)
    json.dump(result.to_dict(), open("metrics.json", "w"))
"""

from mmlatent.evaluation.evaluate import NO_LABELS, EvaluationResult, evaluate
from mmlatent.evaluation.judges import Judge, default_cache_dir, train_judges
from mmlatent.evaluation.metrics import Coherence, JointCoherence, TokenAccuracy

__all__ = [
    "NO_LABELS",
    "Coherence",
    "EvaluationResult",
    "JointCoherence",
    "Judge",
    "TokenAccuracy",
    "default_cache_dir",
    "evaluate",
    "train_judges",
]
