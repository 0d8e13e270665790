"""Hashed TF-IDF from counts equals TF-IDF from texts; the polarity stage is cached exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.tfidf import HashedTfidf, hashed_counts, polarity_terms, train_polarity

TEXTS = ["太慢了我要投诉", "谢谢你们很快", "理赔太慢了", "服务很好", "再不赔我就投诉", "很满意"]
NEGATIVE = [1, 0, 1, 0, 1, 0]
WORDS = [list(t) for t in TEXTS]  # one "word" a character: any segmentation will do here


def test_counting_once_gives_the_same_features_as_the_texts() -> None:
    counts = hashed_counts(TEXTS)
    from_texts, from_counts = HashedTfidf.fit(TEXTS), HashedTfidf.fit_counts(counts)
    assert np.array_equal(from_texts.idf, from_counts.idf)
    a, b = from_texts.transform(TEXTS[:3]), from_counts.transform_counts(counts[:3])
    assert (a != b).nnz == 0 and a.dtype == b.dtype


def test_a_cached_polarity_model_is_the_fitted_one(tmp_path: Path) -> None:
    fresh = train_polarity(TEXTS, NEGATIVE, WORDS)
    first = train_polarity(TEXTS, NEGATIVE, WORDS, tmp_path)
    (entry,) = (tmp_path / "polarity").iterdir()
    stamp = (entry / "weights.npz").stat().st_mtime_ns
    again = train_polarity(TEXTS, NEGATIVE, WORDS, tmp_path)
    assert (entry / "weights.npz").stat().st_mtime_ns == stamp  # read, not refitted
    for model in (first, again):
        assert np.array_equal(model.coef, fresh.coef) and model.intercept == fresh.intercept
        assert np.array_equal(model.tfidf.idf, fresh.tfidf.idf)
        assert model.logits(TEXTS, WORDS).tobytes() == fresh.logits(TEXTS, WORDS).tobytes()
    complaint, praise = fresh.logits(["我要投诉", "很满意"], [["我", "要", "投诉"], ["很", "满意"]])
    assert complaint > praise


def test_another_corpus_is_another_cache_entry(tmp_path: Path) -> None:
    train_polarity(TEXTS, NEGATIVE, WORDS, tmp_path)
    flipped = train_polarity(TEXTS, [1 - n for n in NEGATIVE], WORDS, tmp_path)
    assert len(list((tmp_path / "polarity").iterdir())) == 2
    complaint, praise = flipped.logits(["我要投诉", "很满意"], [["我要投诉"], ["很满意"]])
    assert complaint < praise


def test_a_damaged_cache_entry_is_refitted(tmp_path: Path) -> None:
    fresh = train_polarity(TEXTS, NEGATIVE, WORDS, tmp_path)
    (entry,) = (tmp_path / "polarity").iterdir()
    (entry / "weights.npz").write_bytes(b"damaged")
    again = train_polarity(TEXTS, NEGATIVE, WORDS, tmp_path)
    assert np.array_equal(again.coef, fresh.coef)
    assert train_polarity(TEXTS, NEGATIVE, WORDS, tmp_path).intercept == fresh.intercept


@pytest.mark.parametrize("labels", [[1, 0], [1] * 7])
def test_labels_must_match_the_texts(labels: list[int], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        train_polarity(TEXTS, labels, WORDS, tmp_path)


def test_polarity_terms_are_char_1_to_4_grams_and_words_with_bigrams() -> None:
    terms = polarity_terms("太 慢", ["太", "慢"])
    assert {"太", " ", "慢", "太 ", "太 慢"} <= set(terms)
    words = [t for t in terms if t.startswith("\x1f")]
    assert words == ["\x1f太", "\x1f慢", "\x1f太\x1f慢"]


def test_a_weighted_text_counts_more(tmp_path: Path) -> None:
    texts, words = ["还行吧", "还行吧"], [["还行", "吧"], ["还行", "吧"]]
    heavy_negative = train_polarity(texts, [1, 0], words, weights=[5.0, 1.0])
    heavy_positive = train_polarity(texts, [1, 0], words, weights=[1.0, 5.0])
    assert heavy_negative.logits(["还行吧"], [["还行", "吧"]])[0] > 0
    assert heavy_positive.logits(["还行吧"], [["还行", "吧"]])[0] < 0
    # the weights are part of the cache key
    train_polarity(texts, [1, 0], words, tmp_path, weights=[5.0, 1.0])
    train_polarity(texts, [1, 0], words, tmp_path, weights=[1.0, 5.0])
    assert len(list((tmp_path / "polarity").iterdir())) == 2
