"""The shipped live-call intents (data/assist/intents.yaml) on the cases they must tell apart."""

from __future__ import annotations

import pytest

from assist.intents import IntentBook
from core.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def intents() -> IntentBook:
    return IntentBook.load(PROJECT_ROOT / "data" / "assist" / "intents.yaml")


def test_refusal_disputes_are_told_apart_from_coverage_questions(intents: IntentBook) -> None:
    assert intents.assess(["凭什么不赔？一分钱不给"]).intent == "refusal_dispute"
    # the incident named next does not turn a dispute into a new claim report
    assert intents.assess(["凭什么不赔", "上个月追尾的那个"]).intent == "refusal_dispute"
    assert intents.assess(["这种情况赔不赔"]).intent == "clause_query"
    assert intents.assess(["拒赔一般有哪些情况"]).intent == "clause_query"
