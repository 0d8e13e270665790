"""Head fitting: unused columns change nothing, warm starts reach the same optimum."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from ml.heads import LinearHead, fit_logistic, stratified_folds


def _data(rows: int = 80, used: int = 30, width: int = 500) -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(3)
    dense = np.zeros((rows, width))
    columns = rng.choice(width, size=used, replace=False)
    dense[:, columns] = rng.normal(size=(rows, used))
    labels = (dense[:, columns[:5]].sum(axis=1) + rng.normal(0, 0.5, rows) > 0).astype(int)
    return sparse.csr_matrix(dense), labels


@pytest.mark.parametrize("balanced", [False, True])
def test_dropping_unused_columns_gives_the_same_model(balanced: bool) -> None:
    features, labels = _data()
    head = fit_logistic(features, labels, 4.0, balanced=balanced)
    reference = LogisticRegression(
        C=4.0, max_iter=5000, class_weight="balanced" if balanced else None, random_state=0
    ).fit(features, labels)
    assert head.coef.shape == (1, features.shape[1])
    unused = np.flatnonzero(features.getnnz(axis=0) == 0)
    assert unused.size and not head.coef[0, unused].any()
    assert np.allclose(head.coef, reference.coef_, atol=1e-4)
    assert np.allclose(head.intercept, reference.intercept_, atol=1e-4)
    assert np.allclose(
        head.positive_probability(features), reference.predict_proba(features)[:, 1], atol=1e-5
    )


def test_a_multinomial_head_has_a_row_per_class() -> None:
    features, labels = _data()
    three = labels + (np.arange(labels.size) % 3 == 0)
    head = fit_logistic(features, three, 10.0)
    assert head.coef.shape == (3, features.shape[1]) and head.intercept.shape == (3,)
    with pytest.raises(ValueError, match="binary"):
        head.positive_probability(features)


def test_fitting_is_deterministic() -> None:
    features, labels = _data()
    first, second = fit_logistic(features, labels, 8.0), fit_logistic(features, labels, 8.0)
    assert np.array_equal(first.coef, second.coef)


def test_the_probability_is_the_logistic_of_the_logit() -> None:
    head = LinearHead(np.array([[2.0, -1.0]]), np.array([0.5]))
    rows = np.array([[1.0, 1.0], [0.0, 800.0]])
    assert head.positive_probability(rows) == pytest.approx([1 / (1 + np.exp(-1.5)), 0.0])


def test_stratified_folds_cover_every_row_once_and_keep_the_balance() -> None:
    labels = np.array([1] * 10 + [0] * 20)
    folds = stratified_folds(labels, 5)
    assert sorted(np.concatenate(folds).tolist()) == list(range(30))
    assert all(labels[held].sum() == 2 for held in folds)
    assert [f.tolist() for f in folds] == [f.tolist() for f in stratified_folds(labels, 5)]
