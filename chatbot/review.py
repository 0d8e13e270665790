"""Routing decisions the learned detector made on its own, kept for a supervisor to review.

Two kinds of customer message are logged (``review_for``, pure): handoffs that only the learned
detector asked for (``RouteDecision.learned_only``) and messages where the detector overruled
rule triggers as calm (``RouteDecision.overruled``). A trainer or supervisor labels each with
the route it should have taken; the labelled entries export in the routing-set format of
``data/eval/ROUTING.md``, which training takes as one more author set
(``policydesk train routing --author-set FILE``). This is how real traffic measures
and corrects the detector.

Entries are written in the same transaction as the conversation's save, with the customer's
words redacted (ID, phone and card numbers).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
    update,
)

from accounts.models import User
from accounts.permissions import Action, require
from audit.log import AuditLog
from chatbot.routing import RouteDecision
from chatbot.understanding import COMPLAINT_TRIGGERS, HUMAN_TRIGGERS, Reason
from core.errors import PolicyDeskError
from core.masking import redact
from db.schema import reviews
from db.store import SqlStore

MAX_REVIEWER_CHARS = 64


class ReviewKind(StrEnum):
    """Why a decision is up for review."""

    LEARNED_ONLY = "learned_only"
    """Handed over by the learned detector alone (no rule, no classifier)."""
    OVERRULED = "overruled"
    """The detector overruled rule triggers as calm; the message stayed with the bot."""


class NewReview(BaseModel):
    """A decision to review, as the chatbot records it."""

    session_id: str = Field(min_length=1, max_length=40)
    kind: ReviewKind
    text: str = Field(min_length=1, description="the customer's message (redacted when stored)")
    route: Literal["bot", "human"]
    intent: str
    reasons: list[Reason] = Field(default_factory=list, description="the decision's reasons")
    overruled: list[Reason] = Field(default_factory=list)
    learned_p: float | None = Field(default=None, ge=0, le=1)
    handoff_id: str | None = None

    def suggested_reasons(self) -> list[Reason]:
        """The human triggers a reviewer most likely means by "this should go to a person"."""
        found = self.overruled if self.kind is ReviewKind.OVERRULED else self.reasons
        return [r for r in found if r in HUMAN_TRIGGERS]


class RoutingReview(NewReview):
    """A stored review entry and its label, if it has one."""

    id: str
    created_at: datetime
    label_route: Literal["bot", "human"] | None = None
    label_reasons: list[Reason] = Field(default_factory=list)
    labelled_by: str | None = None
    labelled_at: datetime | None = None


class ReviewNotFoundError(PolicyDeskError):
    """No review entry with that id."""


class ReviewLabelError(PolicyDeskError):
    """A label that cannot be stored (a human route without a human trigger, no reviewer…)."""


def review_for(
    session_id: str,
    text: str,
    intent: str,
    decision: RouteDecision,
    learned_p: float | None,
    handoff_id: str | None = None,
) -> NewReview | None:
    """The review entry a routing decision calls for, or None (pure).

    Args:
        session_id: the conversation.
        text: the customer's message.
        intent: the intent the bot settled on.
        decision: the routing decision.
        learned_p: the detector's P(human) for the message.
        handoff_id: the handoff the decision created, if any.
    """
    if decision.learned_only:
        kind = ReviewKind.LEARNED_ONLY
    elif decision.overruled:
        kind = ReviewKind.OVERRULED
    else:
        return None
    return NewReview(
        session_id=session_id,
        kind=kind,
        text=text,
        route=decision.route,
        intent=intent,
        reasons=decision.reasons,
        overruled=decision.overruled,
        learned_p=learned_p,
        handoff_id=handoff_id,
    )


def checked_label(route: str, reasons: list[Reason]) -> list[Reason]:
    """The reasons a label keeps, or an error naming what is wrong (pure).

    ROUTING.md: a message goes to a person exactly when it carries a human trigger, so a human
    label needs at least one, and a bot label keeps none of them.

    Raises:
        ReviewLabelError: an unknown route, a human route without a human trigger, or a bot
            route with one.
    """
    if route not in ("bot", "human"):
        raise ReviewLabelError(f"the route must be 'bot' or 'human', not {route!r}")
    triggers = [r for r in Reason if r in reasons and r in HUMAN_TRIGGERS]
    others = [r.value for r in reasons if r not in HUMAN_TRIGGERS]
    if others:
        raise ReviewLabelError(
            f"not human triggers: {', '.join(others)}; a label names why a person is needed"
        )
    if route == "human" and not triggers:
        raise ReviewLabelError(
            "a human label needs at least one reason: "
            + ", ".join(r.value for r in Reason if r in HUMAN_TRIGGERS)
        )
    if route == "bot" and triggers:
        raise ReviewLabelError("a bot label takes no reasons (the message needs no person)")
    return triggers


def as_routing_record(review: RoutingReview, number: int) -> dict[str, object]:
    """A labelled entry as one line of a routing set (ROUTING.md format; pure).

    The intent is the bot's, except that a grievance, threat or dispute makes it ``complaint``
    (ROUTING.md precedence). ``hard`` is true: these are the messages the rules and the detector
    disagreed on.

    Raises:
        ReviewLabelError: the entry has no label yet.
    """
    if review.label_route is None:
        raise ReviewLabelError(f"review {review.id} has no label yet")
    intent = review.intent
    if COMPLAINT_TRIGGERS & set(review.label_reasons):
        intent = "complaint"
    return {
        "id": f"rv-{number:03d}",
        "text": review.text,
        "route": review.label_route,
        "intent": intent,
        "reasons": [r.value for r in review.label_reasons],
        "hard": True,
    }


def as_jsonl(records: list[dict[str, object]]) -> str:
    """Routing-set records as JSON Lines, Chinese kept readable (pure)."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _labelled_at(entry: RoutingReview) -> datetime:
    return entry.labelled_at or entry.created_at


def _reviewer(name: str) -> str:
    reviewer = name.strip()
    if not reviewer:
        raise ReviewLabelError("a reviewer is required")
    if len(reviewer) > MAX_REVIEWER_CHARS:
        raise ReviewLabelError(f"the reviewer is longer than {MAX_REVIEWER_CHARS} characters")
    return reviewer


class RoutingReviewLog(SqlStore):
    """Stores review entries and their labels."""

    def record(
        self, new: NewReview, now: datetime | None = None, connection: Connection | None = None
    ) -> RoutingReview:
        """Store an entry (the text redacted), inside ``connection``'s transaction if given."""
        stored = new.model_copy(update={"text": redact(new.text)})
        entry = RoutingReview(
            **stored.model_dump(),
            id="R" + secrets.token_hex(8),
            created_at=now or datetime.now(UTC),
        )
        row = insert(reviews).values(
            id=entry.id,
            session_id=entry.session_id,
            kind=entry.kind.value,
            created_at=entry.created_at,
            payload=stored.model_dump(mode="json"),
        )
        with self.transaction(connection) as conn:
            conn.execute(row)
        return entry

    def get(self, review_id: str) -> RoutingReview:
        """One entry.

        Raises:
            ReviewNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(reviews).where(reviews.c.id == review_id)).first()
        if row is None:
            raise ReviewNotFoundError(f"no routing review {review_id!r}")
        return self._entry(row)

    def entries(self, labelled: bool | None = False, limit: int = 200) -> list[RoutingReview]:
        """Entries, oldest first: unlabelled (default), labelled (True) or all (None)."""
        query = select(reviews).order_by(reviews.c.created_at, reviews.c.id)
        if labelled is not None:
            column = reviews.c.label_route
            query = query.where(column.is_not(None) if labelled else column.is_(None))
        with self.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [self._entry(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Entries by kind and how many are labelled: {"learned_only", "overruled", "labelled"}."""
        with self.reading() as conn:
            rows = conn.execute(select(reviews.c.kind, func.count()).group_by(reviews.c.kind))
            by_kind: dict[str, int] = {str(kind): int(n) for kind, n in rows}
            labelled = conn.execute(
                select(func.count()).where(reviews.c.label_route.is_not(None))
            ).scalar_one()
        counts = {kind.value: int(by_kind.get(kind.value, 0)) for kind in ReviewKind}
        return counts | {"labelled": int(labelled)}

    def label(
        self,
        review_id: str,
        route: str,
        reasons: list[Reason],
        reviewer: str,
        now: datetime | None = None,
    ) -> RoutingReview:
        """Label an entry with the route it should have taken (a later label replaces it).

        Raises:
            ReviewNotFoundError: unknown id.
            ReviewLabelError: see ``checked_label``; no reviewer.
        """
        kept = checked_label(route, reasons)
        name = _reviewer(reviewer)
        entry = self.get(review_id)
        payload = NewReview.model_validate(entry.model_dump()).model_dump(mode="json")
        payload["label_reasons"] = [r.value for r in kept]
        with self.transaction() as conn:
            conn.execute(
                update(reviews)
                .where(reviews.c.id == review_id)
                .values(
                    label_route=route,
                    labelled_by=name,
                    labelled_at=now or datetime.now(UTC),
                    payload=payload,
                )
            )
        return self.get(review_id)

    def export(self) -> list[dict[str, object]]:
        """Every labelled message as a routing-set record, ids ``rv-001`` …

        A text seen more than once is exported once, with its latest label (a routing set never
        holds one text twice).
        """
        latest: dict[str, RoutingReview] = {}
        for entry in self.entries(labelled=True, limit=1_000_000):
            key = "".join(entry.text.split())
            previous = latest.get(key)
            if previous is None or _labelled_at(entry) >= _labelled_at(previous):
                latest.pop(key, None)
                latest[key] = entry
        return [as_routing_record(entry, n) for n, entry in enumerate(latest.values(), start=1)]

    @staticmethod
    def _entry(row: object) -> RoutingReview:
        mapping = row._mapping  # type: ignore[attr-defined]
        return RoutingReview.model_validate(
            {
                **mapping["payload"],
                "id": mapping["id"],
                "created_at": mapping["created_at"],
                "label_route": mapping["label_route"],
                "labelled_by": mapping["labelled_by"],
                "labelled_at": mapping["labelled_at"],
            }
        )


def label_as(
    user: User,
    log: RoutingReviewLog,
    audit: AuditLog,
    review_id: str,
    route: str,
    reasons: list[Reason] | None = None,
) -> RoutingReview:
    """Label an entry as ``user`` (a trainer or supervisor), recorded in the audit log.

    Args:
        user: the acting account.
        log: the review log.
        audit: the audit log.
        review_id: the entry.
        route: "bot" or "human".
        reasons: the human triggers; None takes the entry's suggestion for a human label.

    Raises:
        PermissionDeniedError: the user may not review routing.
        ReviewNotFoundError: unknown id.
        ReviewLabelError: a label the guide does not allow.
    """
    require(user, Action.REVIEW_ROUTING)
    if reasons is None:
        reasons = log.get(review_id).suggested_reasons() if route == "human" else []
    entry = log.label(review_id, route, reasons, user.username)
    detail = " ".join([route, *(r.value for r in entry.label_reasons)])
    audit.record(user.username, "routing.label", entry.id, detail)
    return entry
