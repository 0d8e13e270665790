"""A contact's turns from a call's live views, and from the guard."""

from __future__ import annotations

from datetime import UTC, datetime

from assist.models import AgentAssist, Need, Suggestion
from calls.models import Call, CallState, Segment
from conversation.models import Speaker
from core.models import Emotion, EmotionResult, Hit, PassageKind
from prompts.guard import ComplianceGuard, ComplianceRule, RuleCategory, Severity
from quality.contacts import guarded_turns, turns_from_call
from quality.models import ContactTurn
from sentiment.mood import AlertReason, CallMood, MoodAlert

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
GUARD = ComplianceGuard.from_rules(
    [
        ComplianceRule(
            id="promise-full-payout",
            category=RuleCategory.PROMISE,
            severity=Severity.HIGH,
            patterns=["全赔"],
            reason="不得承诺",
            rewrite="以定损为准",
        )
    ]
)


def _hit(citation: str) -> Hit:
    return Hit(id=citation, kind=PassageKind.CLAUSE, title=citation, citation=citation,
               text="…", score=1.0)  # fmt: skip


def _customer(seq: int, text: str, upset: bool, alert: bool = False) -> Segment:
    emotion = EmotionResult(
        text=text, label=Emotion.ANGRY if upset else Emotion.NEUTRAL, upset=upset,
        intensity=0.8 if upset else 0.1,
    )  # fmt: skip
    raised = MoodAlert(
        reasons=[AlertReason.HIGH_INTENSITY], message="客户情绪激动", turn=seq,
        emotion=Emotion.ANGRY, situation="general",
    )  # fmt: skip
    view = AgentAssist(
        turn=seq,
        speaker=Speaker.CUSTOMER,
        mood=CallMood(upset=upset),
        emotion=emotion,
        alert=raised if alert else None,
        intent=Need(),
        hits=[_hit("示范条款第六条"), _hit("示范条款第八条")],
        suggestion=Suggestion(text="…", citations=["示范条款第八条", "服务规范"]),
    )
    return Segment(seq=seq, speaker=Speaker.CUSTOMER, text=text, final=True, received_at=AT,
                   assist=view)  # fmt: skip


def _agent(seq: int, text: str) -> Segment:
    view = AgentAssist(
        turn=seq, speaker=Speaker.AGENT, mood=CallMood(upset=True), intent=Need(),
        compliance=GUARD.check(text),
    )  # fmt: skip
    return Segment(seq=seq, speaker=Speaker.AGENT, text=text, final=True, received_at=AT,
                   assist=view)  # fmt: skip


def _call(*segments: Segment) -> Call:
    return Call(id="call-1", agent="agent1", caller="138****5678", state=CallState.ENDED,
                started_at=AT, segments=list(segments))  # fmt: skip


def test_turns_carry_the_live_readings() -> None:
    interim = Segment(seq=3, speaker=Speaker.CUSTOMER, text="还在说", final=False, received_at=AT)
    call = _call(
        _agent(0, "您好，很高兴为您服务。"),
        _customer(1, "你们凭什么拒赔！", upset=True, alert=True),
        _agent(2, "放心，肯定全赔。"),
        interim,
    )
    turns = turns_from_call(call)
    assert [t.speaker for t in turns] == [Speaker.AGENT, Speaker.CUSTOMER, Speaker.AGENT]
    caller = turns[1]
    assert (caller.upset, caller.intensity, caller.alert) == (True, 0.8, True)
    assert caller.citations == ["示范条款第八条", "服务规范", "示范条款第六条"]
    assert caller.findings == []
    assert turns[2].findings == ["promise-full-payout"]
    assert turns[2].finding_spans == ["全赔"]
    # an agent turn reads no emotion even though the call's mood is upset
    assert (turns[2].upset, turns[2].intensity, turns[2].alert) == (False, 0.0, False)
    assert turns[0].text == "您好，很高兴为您服务。" and turns[0].at == AT


def test_a_calm_caller_is_not_upset() -> None:
    turns = turns_from_call(_call(_customer(0, "想问一下。", upset=False)))
    assert (turns[0].upset, turns[0].alert) == (False, False)


def test_guarded_turns_fill_findings_on_company_turns_only() -> None:
    turns = [
        ContactTurn(speaker=Speaker.CUSTOMER, text="能全赔吗", findings=["kept"]),
        ContactTurn(speaker=Speaker.BOT, text="您好，肯定全赔。"),
        ContactTurn(speaker=Speaker.AGENT, text="以定损为准。", findings=["stale"]),
    ]
    checked = guarded_turns(turns, GUARD)
    assert checked[0].findings == ["kept"]
    assert checked[1].findings == ["promise-full-payout"]
    assert checked[1].finding_spans == ["全赔"]
    assert checked[2].findings == [] and checked[2].finding_spans == []
    assert turns[1].findings == []  # the given turns are not changed
