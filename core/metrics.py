"""Pure ranking and latency metrics."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import numpy as np


def first_relevant_rank(ranked: Sequence[str], relevant: Collection[str]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    for rank, item in enumerate(ranked, start=1):
        if item in relevant:
            return rank
    return None


def recall_at_k(
    rankings: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int
) -> float:
    """Share of queries with at least one relevant item in the top k (hit rate)."""
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings for {len(relevant)} relevance sets")
    if not rankings:
        return 0.0
    hits = 0
    for ranked, gold in zip(rankings, relevant, strict=True):
        rank = first_relevant_rank(ranked[:k], gold)
        hits += rank is not None
    return hits / len(rankings)


def mrr_at_k(
    rankings: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int
) -> float:
    """Mean reciprocal rank of the first relevant item within the top k (0 when absent)."""
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings for {len(relevant)} relevance sets")
    if not rankings:
        return 0.0
    total = 0.0
    for ranked, gold in zip(rankings, relevant, strict=True):
        rank = first_relevant_rank(ranked[:k], gold)
        total += 1.0 / rank if rank else 0.0
    return total / len(rankings)


def percentiles(samples_ms: Sequence[float], points: Sequence[float] = (50, 95)) -> list[float]:
    """Percentiles (linear interpolation) of latency samples."""
    if not samples_ms:
        raise ValueError("no samples")
    return [float(np.percentile(np.asarray(samples_ms), p)) for p in points]


class BinaryScores(NamedTuple):
    """Accuracy, and precision / recall / F1 of the positive class."""

    accuracy: float
    precision: float
    recall: float
    f1: float


def binary_scores(gold: Sequence[bool], predicted: Sequence[bool]) -> BinaryScores:
    """Scores of a yes/no decision against gold labels (positive = True)."""
    pairs = list(zip(gold, predicted, strict=True))
    tp = sum(g and p for g, p in pairs)
    fp = sum((not g) and p for g, p in pairs)
    fn = sum(g and not p for g, p in pairs)
    return BinaryScores(
        accuracy=sum(g == p for g, p in pairs) / max(len(pairs), 1),
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
        f1=2 * tp / (2 * tp + fp + fn) if tp else 0.0,
    )


def cohen_kappa(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    """Cohen's kappa of two labellings of the same items (agreement beyond chance).

    Returns:
        1.0 for perfect agreement, 0 for chance level; None for no items, or when chance
        agreement is already 1 (both labellings use one and the same label throughout).
    """
    pairs = list(zip(gold, predicted, strict=True))
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(g == p for g, p in pairs) / n
    labels = set(gold) | set(predicted)
    expected = sum((list(gold).count(x) / n) * (list(predicted).count(x) / n) for x in labels)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)
