"""Rank fusion: pure functions combining ranked lists of passage ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1.

    Args:
        rankings: each a list of ids, best first (an id absent from a list adds nothing).
        k: damping constant; 60 is the value from Cormack et al. (2009).
        weights: per-ranking weights (default all 1).

    Returns:
        (id, score) best first; ties keep the order of first appearance.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def apply_priors(
    fused: Sequence[tuple[str, float]], prior: Mapping[str, float]
) -> list[tuple[str, float]]:
    """Multiply fused scores by a per-item prior and re-rank (stable for equal scores).

    Used for the authority prior: a clause or FAQ answer is the basis an agent cites, a precedent
    case illustrates it, so a case needs a slightly stronger match to outrank an answer.

    Args:
        fused: (id, score) pairs, best first.
        prior: multiplier per id; ids not in it keep their score.

    Returns:
        (id, score) best first.
    """
    weighted = [(item, score * prior.get(item, 1.0)) for item, score in fused]
    return sorted(weighted, key=lambda pair: pair[1], reverse=True)
