"""Native thread pools at one thread around a call, and back afterwards; the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_info

from core.threads import single_threaded
from retrieval.ranker import FEATURES, LearnedRanker, QuestionBank, RankerManifest


def _openmp_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"]


def test_openmp_runs_one_thread_inside_and_its_own_count_again_after() -> None:
    before = _openmp_threads()  # sklearn's OpenMP runtime is loaded by the import above
    if not before or max(before) == 1:
        pytest.skip("one OpenMP thread already: nothing to limit on this machine")
    with single_threaded("openmp"):
        assert set(_openmp_threads()) == {1}
    assert _openmp_threads() == before


def test_the_ranker_scores_as_the_model_predicts_with_all_its_threads() -> None:
    rng = np.random.default_rng(0)
    train = rng.random((400, len(FEATURES)))
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0)
    model.fit(train, train[:, 0] + 0.3 * rng.random(400) > 0.6)
    manifest = RankerManifest(
        encoder="fake-v1", features=list(FEATURES), questions=0, call_turns=0, authors=[]
    )
    ranker = LearnedRanker(model, QuestionBank(np.zeros((0, 4)), []), manifest)
    candidates = rng.random((300, len(FEATURES)))
    expected = np.asarray(model.predict_proba(candidates)[:, 1], dtype=np.float32)
    assert np.array_equal(ranker.scores(candidates), expected)
