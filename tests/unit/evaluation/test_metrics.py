from __future__ import annotations

import pytest

from core.metrics import first_relevant_rank, mrr_at_k, percentiles, recall_at_k


def test_recall_and_mrr() -> None:
    rankings = [["a", "b", "c"], ["x", "y", "a"], ["q", "r", "s"]]
    relevant = [{"a"}, {"a", "y"}, {"z"}]
    assert first_relevant_rank(rankings[1], relevant[1]) == 2
    assert recall_at_k(rankings, relevant, 1) == pytest.approx(1 / 3)
    assert recall_at_k(rankings, relevant, 2) == pytest.approx(2 / 3)
    assert mrr_at_k(rankings, relevant, 3) == pytest.approx((1 + 0.5 + 0) / 3)
    assert mrr_at_k(rankings, relevant, 1) == pytest.approx(1 / 3)


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        recall_at_k([["a"]], [], 1)


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    p50, p95 = percentiles(values, (50, 95))
    assert p50 == pytest.approx(50.5)
    assert p95 == pytest.approx(95.05)
    with pytest.raises(ValueError):
        percentiles([])
