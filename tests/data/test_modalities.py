"""Every registered modality: registry entries, state round trip, vector modality."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmlatent.data.errors import DataError
from mmlatent.data.modalities import Modality, VectorModality
from mmlatent.registry import MODALITIES

EXAMPLES = {
    "image": {"name": "image", "size": [28, 28], "channels": 1},
    "audio": {"name": "audio", "sample_rate": 8000, "frames": 16},
    "text": {"name": "text", "max_len": 8, "vocab": ["<pad>", "<unk>", "<bos>", "<eos>", "seven"]},
    "vector": {"name": "features", "dim": 384},
    "sentence": {"name": "sentence"},
}


def test_every_kind_is_registered() -> None:
    assert set(MODALITIES.names()) == {"image", "text", "audio", "vector", "sentence"}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_state_is_plain_json_and_rebuilds_the_same_modality(kind: str) -> None:
    modality = Modality.from_state({"kind": kind, **EXAMPLES[kind]})
    state = modality.state()
    assert json.loads(json.dumps(state)) == state
    again = Modality.from_state(state)
    assert type(again) is type(modality) and again.state() == state and again.spec == modality.spec


def test_vector_modality(tmp_path) -> None:
    vec = VectorModality("features", dim=3)
    raw = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    x = vec.preprocess(raw)
    assert x.shape == (3,) and vec.spec.likelihood == "gaussian"
    assert np.array_equal(vec.load(vec.save(vec.postprocess(x), tmp_path / "v")), raw)
    with pytest.raises(DataError, match=r"expected shape \(3,\)"):
        vec.preprocess(np.zeros(4))
    with pytest.raises(ValueError, match="likelihood"):
        VectorModality("bad", dim=3, likelihood="poisson")
    assert torch.equal(vec.placeholder(), torch.zeros(3))
