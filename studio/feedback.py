"""Agents' helpful / not-helpful feedback on knowledge cards, kept as a queue for trainers."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import (
    Integer,
    delete,
    func,
    insert,
    select,
    update,
)

from core.errors import PolicyDeskError
from core.masking import redact
from db.schema import feedback
from db.store import SqlStore

MAX_QUESTION_CHARS = 500


class NewFeedback(BaseModel):
    """One vote on one card, as the console sends it."""

    passage_id: str = Field(min_length=1, max_length=200)
    citation: str = Field(min_length=1, max_length=300)
    kind: str = Field(min_length=1, max_length=20)
    question: str = Field(min_length=1, description="what the caller asked (masked on save)")
    helpful: bool
    agent: str = Field(default="", max_length=64)
    channel: str = Field(default="console", max_length=20)


class Feedback(NewFeedback):
    """A stored vote; ``reviewed`` once a trainer has dealt with it."""

    id: int
    at: datetime
    reviewed: bool = False


class FeedbackSummary(BaseModel):
    """Votes per card, for the trainers' queue."""

    passage_id: str
    citation: str
    helpful: int
    not_helpful: int


class FeedbackStore(SqlStore):
    """Records card feedback and lists it for trainers."""

    def record(self, vote: NewFeedback, at: datetime | None = None) -> Feedback:
        """Store one vote (the question is masked and trimmed).

        Raises:
            PolicyDeskError: a blank question.
        """
        question = redact(" ".join(vote.question.split()))[:MAX_QUESTION_CHARS]
        if not question:
            raise PolicyDeskError("feedback needs the question that produced the card")
        when = at or datetime.now(UTC)
        values = vote.model_dump() | {"question": question, "at": when, "reviewed": False}
        with self.transaction() as conn:
            new_id = conn.execute(insert(feedback).values(**values)).inserted_primary_key
        assert new_id is not None
        return Feedback(id=int(new_id[0]), **values)

    def remove_channel(self, channel: str) -> int:
        """Delete every vote that came from a channel (generated ones: the demo history's);
        returns how many."""
        with self.transaction() as conn:
            return int(conn.execute(delete(feedback).where(feedback.c.channel == channel)).rowcount)

    def votes(self, include_reviewed: bool = False, limit: int = 200) -> list[Feedback]:
        """Votes, newest first; only those not yet reviewed unless asked."""
        query = select(feedback).order_by(feedback.c.at.desc(), feedback.c.id.desc()).limit(limit)
        if not include_reviewed:
            query = query.where(feedback.c.reviewed.is_(False))
        with self.reading() as conn:
            return [Feedback.model_validate(r._mapping) for r in conn.execute(query)]

    def summary(self) -> list[FeedbackSummary]:
        """Votes per card, most not-helpful first."""
        helpful = func.sum(func.cast(feedback.c.helpful, Integer))
        total = func.count()
        query = (
            select(feedback.c.passage_id, feedback.c.citation, helpful, total)
            .group_by(feedback.c.passage_id, feedback.c.citation)
            .order_by((total - helpful).desc(), feedback.c.passage_id)
        )
        with self.reading() as conn:
            return [
                FeedbackSummary(
                    passage_id=p, citation=c, helpful=int(h or 0), not_helpful=int(n - (h or 0))
                )
                for p, c, h, n in conn.execute(query)
            ]

    def mark_reviewed(self, feedback_id: int) -> None:
        """Take a vote off the trainers' queue.

        Raises:
            PolicyDeskError: no such vote.
        """
        with self.transaction() as conn:
            changed = conn.execute(
                update(feedback).where(feedback.c.id == feedback_id).values(reviewed=True)
            ).rowcount
        if not changed:
            raise PolicyDeskError(f"no feedback with id {feedback_id}")
