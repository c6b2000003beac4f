"""Fixtures for evaluation tests; the fakes themselves live in ``evaluation_fakes.py``."""

from __future__ import annotations

import pytest
from evaluation_fakes import OracleModel, make_data, oracle_judges

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.evaluation.judges import Judge


@pytest.fixture
def fake_data() -> MultimodalData:
    return make_data()


@pytest.fixture
def oracle(fake_data: MultimodalData) -> OracleModel:
    return OracleModel(fake_data.specs)


@pytest.fixture
def perfect_judges() -> dict[str, Judge]:
    return oracle_judges()
