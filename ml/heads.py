"""Fitting linear heads (logistic regression) and the figures that judge them: with ``ml.tfidf``
and ``ml.baselines``, the only modules that import scikit-learn (an import-linter contract).

Fits are deterministic (seeded) and single-threaded: the solver makes thousands of BLAS and
OpenMP calls on small vectors, where waking a second thread costs more than it saves (on a busy
machine, ten times more).

Every fit drops the feature columns that are zero in every training row before handing the
matrix to the solver, and puts zeros back in their place after: with an L2 penalty such a
column's gradient is the penalty alone, so its weight stays exactly 0 from the start and the
solver takes the same steps, without carrying the 2^18 hashed TF-IDF columns (most never seen in
a training set) through every iteration.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import ThreadpoolController

Matrix: TypeAlias = np.ndarray | sparse.csr_matrix
"""Rows of features: dense, or sparse CSR."""


@dataclass(frozen=True)
class LinearHead:
    """Weights over the features: ``coef`` (outputs, features) and ``intercept`` (outputs,).

    One output row for a binary head (the log-odds of the positive class), one per class for a
    multinomial head.
    """

    coef: np.ndarray
    intercept: np.ndarray

    def logits(self, features: Matrix) -> np.ndarray:
        """(rows, outputs) unnormalised scores."""
        return np.asarray(features @ self.coef.T) + self.intercept

    def positive_probability(self, features: Matrix) -> np.ndarray:
        """P(positive class) per row, for a binary head."""
        if self.coef.shape[0] != 1:
            raise ValueError(f"a binary head has one output row, this one {self.coef.shape[0]}")
        z = self.logits(features)[:, 0]
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))  # the logistic, without overflow


@functools.cache
def _thread_pools() -> ThreadpoolController:
    return ThreadpoolController()


def _used_columns(features: Matrix) -> np.ndarray:
    if sparse.issparse(features):
        rows = sparse.csr_matrix(features)
        stored = rows.indices[rows.data != 0]  # explicit zeros do not make a column used
        return np.flatnonzero(np.bincount(stored, minlength=rows.shape[1]))
    return np.flatnonzero(np.any(np.asarray(features) != 0, axis=0))


def fit_logistic(
    features: Matrix,
    labels: Sequence[int] | np.ndarray,
    c: float,
    *,
    balanced: bool = False,
    solver: str = "lbfgs",
    max_iter: int = 5000,
    seed: int = 0,
    sample_weight: Sequence[float] | np.ndarray | None = None,
) -> LinearHead:
    """Fit an L2-regularised logistic regression (binary, or multinomial for 3+ labels).

    Args:
        features: one row per example.
        labels: the class of each row (0/1 for a binary head, 0..k-1 for k classes).
        c: inverse strength of the L2 penalty.
        balanced: weigh the classes inversely to their frequency.
        solver: ``lbfgs`` (the default) or ``liblinear`` (binary heads on large sparse corpora).
        max_iter: the solver's iteration limit.
        seed: the solver's random state.
        sample_weight: how much each row counts (all 1 when None).

    Returns:
        The head, with a weight for every column of ``features`` (0 for unused columns).
    """
    width = features.shape[1]
    used = _used_columns(features)
    model = LogisticRegression(
        C=c,
        max_iter=max_iter,
        solver=solver,
        class_weight="balanced" if balanced else None,
        random_state=seed,
    )
    with _thread_pools().limit(limits=1):
        model.fit(
            features[:, used] if used.size < width else features,
            np.asarray(labels),
            sample_weight=None if sample_weight is None else np.asarray(sample_weight),
        )
    coef = np.zeros((model.coef_.shape[0], width), dtype=np.float64)
    coef[:, used] = model.coef_
    return LinearHead(coef, np.asarray(model.intercept_, dtype=np.float64).copy())


def stratified_folds(
    labels: Sequence[int] | np.ndarray, folds: int, seed: int = 0
) -> list[np.ndarray]:
    """The held-out rows of each of ``folds`` shuffled, stratified folds (seeded)."""
    y = np.asarray(labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [held for _, held in splitter.split(np.zeros(y.size), y)]


def roc_auc(positive: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve of scores against yes/no labels."""
    return float(roc_auc_score(np.asarray(positive), np.asarray(scores)))


def average_precision(
    positive: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float:
    """Average precision (area under the precision-recall curve) of scores."""
    return float(average_precision_score(np.asarray(positive), np.asarray(scores)))
