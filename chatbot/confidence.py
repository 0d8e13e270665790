"""How sure the bot can be that the knowledge base answers a question (pure)."""

from __future__ import annotations

from core.models import Hit

# cosine of the best chunk: below LOW nothing in the KB is about the question; above HIGH it is
CONFIDENCE_LOW = 0.84
CONFIDENCE_HIGH = 0.89


def retrieval_confidence(hits: list[Hit]) -> float:
    """A confidence in [0, 1] from the e5 cosine of the best hit's best chunk.

    Calibrated on our dev questions (all above 0.877) against off-topic questions (all below
    0.855) on the demo knowledge base; 0.35, the default handoff threshold, sits at 0.8575.

    Args:
        hits: retrieved passages, best first.

    Returns:
        0 with no hit or no dense score, else the cosine scaled between the two bounds.
    """
    if not hits or hits[0].dense_score is None:
        return 0.0
    value = (hits[0].dense_score - CONFIDENCE_LOW) / (CONFIDENCE_HIGH - CONFIDENCE_LOW)
    return float(min(1.0, max(0.0, value)))
