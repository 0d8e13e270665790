"""Which routing decisions go up for review, and what a label may say (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest

from chatbot.review import (
    ReviewKind,
    ReviewLabelError,
    RoutingReview,
    as_routing_record,
    checked_label,
    review_for,
)
from chatbot.routing import RouteDecision
from chatbot.routing_sets import RoutingExample
from chatbot.understanding import Reason


def test_a_handoff_only_the_detector_wanted_is_up_for_review() -> None:
    decision = RouteDecision(route="human", reasons=[Reason.NEEDS_DECISION], learned_only=True)
    review = review_for("S1", "这个能不能给我办了", "claim_progress", decision, 0.81, "H1")
    assert review is not None
    assert review.kind is ReviewKind.LEARNED_ONLY
    assert (review.route, review.handoff_id, review.learned_p) == ("human", "H1", 0.81)
    assert review.suggested_reasons() == [Reason.NEEDS_DECISION]


def test_overruled_rule_triggers_are_up_for_review_with_what_was_overruled() -> None:
    decision = RouteDecision(route="bot", reasons=[], overruled=[Reason.COMPLAINT])
    review = review_for("S1", "投诉电话多少", "complaint", decision, 0.02)
    assert review is not None and review.kind is ReviewKind.OVERRULED
    assert review.route == "bot" and review.overruled == [Reason.COMPLAINT]
    assert review.suggested_reasons() == [Reason.COMPLAINT]


def test_decisions_the_rules_made_are_not_up_for_review() -> None:
    by_rules = RouteDecision(route="human", reasons=[Reason.EXPLICIT_REQUEST])
    calm = RouteDecision(route="bot")
    assert review_for("S1", "转人工", "to_human", by_rules, 0.97) is None
    assert review_for("S1", "交强险限额多少", "clause_query", calm, 0.01) is None


@pytest.mark.parametrize(
    ("route", "reasons", "problem"),
    [
        ("human", [], "needs at least one reason"),
        ("bot", [Reason.COMPLAINT], "takes no reasons"),
        ("human", [Reason.LOW_CONFIDENCE], "not human triggers: low_confidence"),
        ("maybe", [], "'bot' or 'human'"),
    ],
)
def test_a_label_must_agree_with_the_labelling_guide(
    route: str, reasons: list[Reason], problem: str
) -> None:
    with pytest.raises(ReviewLabelError, match=problem):
        checked_label(route, reasons)


def test_a_label_keeps_its_triggers_in_reason_order() -> None:
    assert checked_label("human", [Reason.EXPLICIT_REQUEST, Reason.UPSET]) == [
        Reason.UPSET,
        Reason.EXPLICIT_REQUEST,
    ]


def _stored(
    label: Literal["bot", "human"] | None, reasons: list[Reason], intent: str = "claim_progress"
) -> RoutingReview:
    return RoutingReview(
        id="R1",
        created_at=datetime(2026, 11, 29, tzinfo=UTC),
        session_id="S1",
        kind=ReviewKind.LEARNED_ONLY,
        text="定损才给这么点，我不同意",
        route="human",
        intent=intent,
        reasons=[Reason.DISPUTE],
        label_route=label,
        label_reasons=reasons,
    )


def test_a_labelled_entry_exports_as_a_valid_routing_record() -> None:
    record = as_routing_record(_stored("human", [Reason.DISPUTE]), 7)
    example = RoutingExample.model_validate(record)
    assert example.id == "rv-007" and example.number == 7
    # a dispute makes the intent complaint (ROUTING.md precedence)
    assert (example.route, example.intent.value) == ("human", "complaint")
    assert example.reasons == [Reason.DISPUTE]


def test_a_bot_label_keeps_the_bots_intent() -> None:
    record = as_routing_record(_stored("bot", []), 1)
    assert (record["route"], record["intent"], record["reasons"]) == ("bot", "claim_progress", [])


def test_an_unlabelled_entry_does_not_export() -> None:
    with pytest.raises(ReviewLabelError, match="no label yet"):
        as_routing_record(_stored(None, []), 1)
