"""Reference models that benchmarks compare ours against (never served)."""

from __future__ import annotations

from collections.abc import Sequence


def char_tfidf_logistic(
    train_texts: Sequence[str], train_labels: Sequence[int], test_texts: Sequence[str]
) -> list[int]:
    """The textbook baseline: char 1-3-gram TF-IDF (a fitted vocabulary, sublinear TF) and a
    logistic regression with scikit-learn's defaults, trained and applied in one go.

    Args:
        train_texts: training texts.
        train_labels: their classes.
        test_texts: texts to classify.

    Returns:
        The predicted class of each test text.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LogisticRegression(max_iter=2000)
    model.fit(vectorizer.fit_transform(list(train_texts)), list(train_labels))
    return [int(p) for p in model.predict(vectorizer.transform(list(test_texts)))]
