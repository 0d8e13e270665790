"""How sure the bot can be that the knowledge base answers a question (pure)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from core.files import read_yaml
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


class AnswerBar(BaseModel):
    """How sure retrieval must be before the bot answers from it: the best hit's confidence
    (``retrieval_confidence``) and how many of the message's words it contains
    (``Hit.matched_terms``, the lexical evidence that the passage is about those words)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_confidence: float = Field(ge=0, le=1, description="the best hit's retrieval confidence")
    min_matched_terms: int = Field(
        default=0, ge=0, description="the message's words (or their formal terms) in the best hit"
    )

    def clears(self, hits: list[Hit]) -> bool:
        """Whether the hits are sure enough to answer from.

        Args:
            hits: retrieved passages, best first.

        Returns:
            True when there is a best hit and it reaches both minimums.
        """
        return (
            bool(hits)
            and retrieval_confidence(hits) >= self.min_confidence
            and len(hits[0].matched_terms) >= self.min_matched_terms
        )

    @classmethod
    def load(cls, path: Path) -> AnswerBar:
        """Read and validate a bar (``data/chatbot/unknown_intent.yaml``).

        Raises:
            ConfigurationError: missing file, bad YAML or an out-of-range value, naming the file.
        """
        return read_yaml(path, cls)
