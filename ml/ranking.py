"""Fitting the card ranker's model: gradient-boosted trees over candidate features (with
``ml.heads``, ``ml.tfidf`` and ``ml.baselines``, the only modules that import scikit-learn).

Trees, not a linear head: the features interact (an exclusion article is right in a refusal and
wrong in a coverage question), and the candidates of one turn are few enough to score in a
fraction of a millisecond.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier


def fit_candidate_model(features: np.ndarray, relevant: np.ndarray, seed: int = 0) -> Any:
    """A fitted classifier with ``predict_proba``: is this candidate an answer?

    Args:
        features: one row per (moment, candidate).
        relevant: 1 where the candidate is gold.
        seed: the fit's random state (deterministic).
    """
    model = HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.06,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        random_state=seed,
    )
    return model.fit(np.asarray(features, dtype=np.float32), np.asarray(relevant, dtype=np.int8))
