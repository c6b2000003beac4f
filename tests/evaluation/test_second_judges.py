"""The second, independent judges: trained on real data, scoring the same generated samples."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from evaluation_fakes import OracleModel, make_data, oracle_judges
from torch import Tensor

from mmlatent.evaluation import evaluate
from mmlatent.evaluation.second_judges import dct_matrix, train_second_judges
from mmlatent.types import ModalitySpec


def test_dct_basis_is_orthonormal() -> None:
    basis = dct_matrix(32, 32)
    torch.testing.assert_close(basis @ basis.T, torch.eye(32), atol=1e-5, rtol=0)


def test_second_judges_learn_every_kind_from_real_data() -> None:
    data = make_data(n=200)
    judges = train_second_judges(data)
    assert set(judges) == {"image", "text", "audio"}
    for name, judge in judges.items():
        assert judge.accuracy > 0.9, name
        test = data.splits["test"]
        assert judge.predict(data.tensors[name][test]).shape == (len(test),)


def test_unlabelled_data_get_no_second_judges() -> None:
    assert train_second_judges(make_data(labelled=False)) == {}


@dataclass
class Constant:
    """A judge that always answers ``label``: it disagrees with any good judge."""

    spec: ModalitySpec
    label: int = 0
    accuracy: float = 0.25

    def predict(self, x: Tensor) -> Tensor:
        return torch.full((len(x),), self.label, dtype=torch.long)


def test_both_panels_score_the_same_samples_and_disagreements_are_flagged() -> None:
    data = make_data(n=200)
    model = OracleModel(data.specs)
    second = train_second_judges(data)
    result = evaluate(model, data, oracle_judges(), n_unconditional=40, second_judges=second)
    assert result.second_judge is not None
    assert result.second_judge.coherence.keys() == result.coherence.keys()
    assert min(result.second_judge.coherence.values()) > 0.9  # an oracle is coherent to both
    assert result.second_judge.disagreements == []
    second["image"] = Constant(data.specs["image"])  # type: ignore[assignment]
    result = evaluate(model, data, oracle_judges(), n_unconditional=40, second_judges=second)
    assert result.second_judge is not None
    flagged = set(result.second_judge.disagreements)
    assert {"text->image", "audio->image", "text+audio->image", "joint"} <= flagged
    assert not any(key.endswith("->text") for key in flagged)
