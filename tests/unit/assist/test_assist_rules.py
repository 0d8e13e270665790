from __future__ import annotations

import pytest

from assist.actions import next_actions
from assist.intents import IntentBook
from assist.models import Need
from assist.replies import suggest
from core.models import Hit, PassageKind
from core.settings import PROJECT_ROOT
from core.templates import gist
from prompts.guard import ComplianceGuard
from sentiment.mood import CallMood


@pytest.fixture(scope="module")
def intents() -> IntentBook:
    return IntentBook.load(PROJECT_ROOT / "data" / "assist" / "intents.yaml")


@pytest.fixture(scope="module")
def guard() -> ComplianceGuard:
    return ComplianceGuard.load(PROJECT_ROOT / "prompts" / "compliance_rules.yaml")


def test_need_comes_from_recent_turns_latest_first(intents: IntentBook) -> None:
    assert intents.assess(["我的车昨晚在地库被淹了"]).intent == "report_claim"
    assert intents.assess(["我想续保", "好的"]).intent == "renewal_change"  # context carries over
    latest = intents.assess(["我想续保", "上次那个理赔到哪一步了"])
    assert latest.intent == "claim_progress" and "到哪一步" in latest.matched
    assert intents.assess(["你好"]).intent == "other"


def _hit(text: str) -> Hit:
    return Hit(
        id="cm-6",
        kind=PassageKind.CLAUSE,
        title="保险责任",
        citation="示范条款第六条",
        text=text,
        score=1.0,
    )


def test_suggestion_fills_profile_and_cites_clauses(guard: ComplianceGuard) -> None:
    suggestion = suggest(
        "{客户称呼}，条款的规定是：{要点}（{依据}）。",
        {"客户称呼": "王先生"},
        [_hit("因暴雨造成被保险机动车损失的，保险人负责赔偿。其他情形另行约定。")],
        [],
        guard,
    )
    assert (
        suggestion.text
        == "王先生，条款的规定是：因暴雨造成被保险机动车损失的，保险人负责赔偿（示范条款第六条）。"
    )
    assert suggestion.citations == ["示范条款第六条"]
    assert not suggestion.rewritten


def test_suggestion_never_shows_a_red_line(guard: ComplianceGuard) -> None:
    suggestion = suggest("{客户称呼}，您放心，肯定全赔。", {}, [], [], guard)
    assert suggestion.rewritten
    assert guard.check(suggestion.text).compliant
    assert "全赔" not in suggestion.text


def test_actions_follow_need_mood_and_privileges() -> None:
    report = next_actions(Need(intent="report_claim"), CallMood(), "injury_scene", None)
    codes = [a.code for a in report]
    assert codes[0] == "safety" and "report" in codes and "survey" in codes
    driver = next_actions(Need(intent="value_added", matched=["代驾"]), CallMood(), "general", None)
    assert [a.code for a in driver] == ["driver-paid"]
    complaint = next_actions(Need(intent="complaint"), CallMood(), "general", None)
    assert complaint[0].code == "escalate"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("可以的。施救费用在车损险项下赔偿。其余见条款。", "可以的，施救费用在车损险项下赔偿"),
        ("有的。原则上应在48小时内报案。", "有的，原则上应在48小时内报案"),
        ("可以。", "可以"),  # nothing follows: the bare answer stays
        (
            "保险期间内，车辆因碰撞造成的损失，保险人负责赔偿。",
            "保险期间内，车辆因碰撞造成的损失，保险人负责赔偿",
        ),
    ],
)
def test_the_gist_is_the_first_sentence_and_a_bare_yes_takes_the_next(
    text: str, expected: str
) -> None:
    assert gist(_hit(text)) == expected
