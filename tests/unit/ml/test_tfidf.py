"""Hashed TF-IDF from counts equals TF-IDF from texts."""

from __future__ import annotations

import numpy as np

from ml.tfidf import HashedTfidf, hashed_counts

TEXTS = ["太慢了我要投诉", "谢谢你们很快", "理赔太慢了", "服务很好", "再不赔我就投诉", "很满意"]


def test_counting_once_gives_the_same_features_as_the_texts() -> None:
    counts = hashed_counts(TEXTS)
    from_texts, from_counts = HashedTfidf.fit(TEXTS), HashedTfidf.fit_counts(counts)
    assert np.array_equal(from_texts.idf, from_counts.idf)
    a, b = from_texts.transform(TEXTS[:3]), from_counts.transform_counts(counts[:3])
    assert (a != b).nnz == 0 and a.dtype == b.dtype
