"""The call summary: it states the facts (event, requests, what the agent did or promised, next
step, disposition, compliance findings), never the caller's words or the alerts' reasons; the
disposition it proposes; an LLM only rephrases (pure, with langchain's fake chat model)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assist.facts import FactBook, FactFile
from assist.models import AgentAssist, Need, NextAction, Suggestion
from assist.wrapup import (
    Disposition,
    WrapUpService,
    suggested_disposition,
    summarize,
    transcript_text,
)
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.models import Emotion, EmotionResult
from core.settings import PROJECT_ROOT
from customers.store import CustomerStore
from prompts.guard import ComplianceGuard, ComplianceRule, RuleCategory, Severity
from prompts.llm import LlmPhraser
from sentiment.mood import AlertReason, CallMood, MoodAlert

ALERT = "客户情绪强烈（高强度愤怒或焦虑）"
FIRST = "我的车在地库被水淹了，我电话13812345678，这可怎么办"

GUARD = ComplianceGuard.from_rules(
    [
        ComplianceRule(
            id="promise-full-payout",
            category=RuleCategory.PROMISE,
            severity=Severity.HIGH,
            patterns=["全赔"],
            reason="不得向客户承诺全额赔付。赔多少取决于核定结果。",
            rewrite="以核定为准。",
        ),
        ComplianceRule(
            id="privacy-full-number",
            category=RuleCategory.PRIVACY,
            severity=Severity.HIGH,
            patterns=[r"\d{11}"],
            reason="不得说出完整手机号。",
            rewrite="尾号核对。",
        ),
    ]
)


def _rule(rule_id: str, label: str, pattern: str, **more: Any) -> dict[str, Any]:
    return {"id": rule_id, "label": label, "patterns": [pattern], **more}


BOOK = FactBook(
    FactFile.model_validate(
        {
            "events": [_rule("garage-flood", "地库被淹", "地库.{0,4}淹")],
            "requests": [_rule("ask-what-to-do", "询问出险后如何处理", "怎么办")],
            "commitments": [
                _rule("claim-reported", "已登记报案", "登记报案", disposition="已报案"),
                _rule("towing", "已安排拖车", "安排拖车", disposition="已安排救援/代驾"),
                _rule("complaint", "已登记投诉", "投诉已登记", disposition="已登记投诉"),
                _rule("callback", "承诺回电", "回电", disposition="需回访"),
            ],
            "next_steps": [_rule("tow-driver-calls", "拖车司机电话联系客户", "司机.{0,8}打电话")],
        }
    )
)


def _view(turn: int, text: str, speaker: Speaker = Speaker.CUSTOMER, **more: Any) -> AgentAssist:
    if speaker is not Speaker.CUSTOMER:
        return AgentAssist(
            turn=turn, speaker=speaker, mood=CallMood(), intent=Need(), compliance=GUARD.check(text)
        )
    emotion = more.pop("emotion", Emotion.NEUTRAL)
    intent = more.pop("intent", "report_claim")
    return AgentAssist(
        turn=turn,
        speaker=speaker,
        mood=CallMood(current=emotion),
        emotion=EmotionResult(text=text, label=emotion, upset=emotion.is_negative, intensity=0.5),
        intent=Need(intent=intent, label={"report_claim": "报案"}.get(intent, "条款咨询")),
        suggestion=Suggestion(text="…", citations=["示范条款第六条"]),
        actions=[NextAction(code="escalate", label="升级主管", reason=ALERT)],
        **more,
    )


def _call(*lines: str) -> tuple[list[Turn], list[AgentAssist]]:
    """A call from 'C:' (caller) and 'A:' (agent) lines; the first caller turn raises an alert."""
    turns: list[Turn] = []
    views: list[AgentAssist] = []
    for number, line in enumerate(lines):
        speaker = Speaker.CUSTOMER if line[0] == "C" else Speaker.AGENT
        turns.append(Turn(speaker=speaker, text=line[2:]))
        alert = MoodAlert(
            reasons=[AlertReason.HIGH_INTENSITY],
            message=ALERT,
            turn=0,
            emotion=Emotion.ANXIOUS,
            situation="flood",
        )
        more: dict[str, Any] = {"emotion": Emotion.ANXIOUS, "alert": alert} if number == 0 else {}
        views.append(_view(number, line[2:], speaker, **more))
    return turns, views


FLOOD = _call(
    f"C:{FIRST}",
    "A:我马上为您登记报案，并安排拖车，司机出发前会给您打电话。您放心，肯定全赔。",
    "C:好的谢谢",
)


def test_the_summary_states_the_facts_of_the_call() -> None:
    summary = summarize(*FLOOD, BOOK)
    assert summary.text.startswith(
        "事件：地库被淹。客户诉求：询问出险后如何处理。坐席已办/承诺：已登记报案；已安排拖车。"
        "下一步：拖车司机电话联系客户。处理结果：已报案。客户情绪：焦虑→平稳。"
    )
    assert [f.label for f in summary.facts.events] == ["地库被淹"]
    assert [f.label for f in summary.facts.commitments] == ["已登记报案", "已安排拖车"]
    assert summary.disposition is Disposition.CLAIM_REPORTED  # weightier than the tow


def test_the_agents_compliance_findings_are_listed() -> None:
    summary = summarize(*FLOOD, BOOK)
    (finding,) = summary.facts.findings
    assert (finding.rule, finding.turn, finding.words) == ("promise-full-payout", 1, "全赔")
    assert summary.text.endswith("合规提示（1处）：坐席说“全赔”（不得向客户承诺全额赔付）。")


def test_the_summary_neither_quotes_the_caller_nor_repeats_alert_reasons() -> None:
    summary = summarize(*FLOOD, BOOK)
    assert summary.alerts == [ALERT] and ALERT not in summary.text
    assert "情绪提醒" not in summary.text
    assert "地库被水淹了" not in summary.text and "13812345678" not in summary.text
    assert "138****5678" not in summary.text  # not even masked: the words are not quoted
    # what the system suggested is kept for the API, but is no fact of the call
    assert summary.citations == ["示范条款第六条"] and summary.actions == ["升级主管"]
    assert "示范条款第六条" not in summary.text and "升级主管" not in summary.text


def test_identifiers_in_the_findings_are_masked() -> None:
    summary = summarize(*_call("C:我想问问", "A:您的手机号是13812345678吗"), BOOK)
    assert summary.facts.findings[0].rule == "privacy-full-number"
    assert "13812345678" not in summary.text and "138****5678" in summary.text
    assert "13812345678" not in transcript_text([Turn(speaker=Speaker.AGENT, text="13812345678")])


def test_what_the_rules_do_not_find_is_said_plainly() -> None:
    summary = summarize(*_call("C:我的车出事了"), BOOK)
    assert summary.text.startswith(
        "事件：未识别到出险事件。客户诉求：报案。坐席已办/承诺：未识别到办理或承诺事项。"
        "下一步：待坐席补充。处理结果：已报案。"
    )  # the caller's need stands in for requests the rules did not find
    called_back = summarize(*_call("C:问问", "A:明天回电"), BOOK)
    assert called_back.disposition is Disposition.CALLBACK


def test_the_disposition_comes_from_what_was_done_not_from_suggestions() -> None:
    # an emotion alert suggests escalating; nobody escalated, so the call is not "escalated"
    turns, views = _call("C:我车被淹了", "A:好的")
    assert any(a.code == "escalate" for v in views for a in v.actions)
    assert summarize(turns, views, BOOK).disposition is Disposition.CLAIM_REPORTED
    both = summarize(*_call("C:我要投诉", "A:投诉已登记，三天内回电"), BOOK)
    assert both.disposition is Disposition.COMPLAINT


def test_a_call_without_caller_turns_cannot_be_summarised() -> None:
    with pytest.raises(PolicyDeskError, match="no caller turn"):
        summarize([Turn(speaker=Speaker.AGENT, text="您好")], [], BOOK)


def test_an_llm_rephrases_but_the_facts_and_findings_stay_those_extracted() -> None:
    phrased = "客户地库车辆被淹，询问怎么处理；已登记报案并安排拖车，司机会先电话联系。已报案。"
    model = FakeListChatModel(responses=[phrased])
    phraser = LlmPhraser.load(model, GUARD, PROJECT_ROOT / "prompts" / "llm_prompts.yaml")
    # the draft never touches the customer store (only saving does)
    service = WrapUpService(cast(CustomerStore, None), BOOK, phraser)
    summary = service.draft(*FLOOD)
    template = summarize(*FLOOD, BOOK)
    assert summary.source == "llm" and summary.facts == template.facts
    assert summary.disposition is Disposition.CLAIM_REPORTED
    # the findings are appended as extracted, never left to the LLM (nor to the guard on its text)
    findings = "合规提示（1处）：坐席说“全赔”（不得向客户承诺全额赔付）。"
    assert summary.text == phrased + findings and template.text.endswith(findings)


@pytest.mark.parametrize(
    ("intents", "actions", "expected"),
    [
        (["complaint", "report_claim"], [], Disposition.COMPLAINT),
        (["report_claim"], ["escalate"], Disposition.ESCALATED),
        (["amount_dispute"], [], Disposition.REVIEW_REQUESTED),
        (["report_claim"], ["report"], Disposition.CLAIM_REPORTED),
        (["value_added"], [], Disposition.SERVICE_ARRANGED),
        (["clause_query"], [], Disposition.ANSWERED),
    ],
)
def test_suggested_disposition(
    intents: list[str], actions: list[str], expected: Disposition
) -> None:
    assert suggested_disposition(intents, actions) is expected
