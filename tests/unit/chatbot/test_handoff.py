"""Handoff priority: danger first, then anger and legal threats, then disputes and decisions."""

from __future__ import annotations

import pytest

from chatbot.handoff import LOWEST_PRIORITY, REASON_TEXT, priority_for
from chatbot.understanding import HUMAN_TRIGGERS, Reason


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["injury_emergency"], 0),
        (["explicit_request", "injury_emergency"], 0),
        (["upset"], 1),
        (["legal_threat", "complaint"], 1),
        (["complaint"], 2),
        (["dispute"], 2),
        (["needs_decision", "explicit_request"], 2),
        (["explicit_request"], 3),
        (["low_confidence"], 3),
        (["bot_failed"], 3),
        ([], LOWEST_PRIORITY),
    ],
)
def test_priority_follows_the_most_urgent_reason(reasons: list[str], expected: int) -> None:
    assert priority_for(reasons) == expected


def test_every_routing_reason_has_words_for_the_agent() -> None:
    handoff_reasons = {r.value for r in HUMAN_TRIGGERS} | {
        Reason.LOW_CONFIDENCE.value,
        Reason.BOT_FAILED.value,
    }
    assert handoff_reasons <= set(REASON_TEXT)
