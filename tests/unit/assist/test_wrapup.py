"""The call summary template and the disposition it proposes (pure)."""

from __future__ import annotations

import pytest

from assist.models import AgentAssist, Need, NextAction, Suggestion
from assist.wrapup import Disposition, suggested_disposition, summarize, transcript_text
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.models import Emotion, EmotionResult
from sentiment.mood import CallMood


def _caller(turn: int, text: str, intent: str, label: str, emotion: Emotion) -> AgentAssist:
    result = EmotionResult(text=text, label=emotion, upset=emotion.is_negative, intensity=0.5)
    return AgentAssist(
        turn=turn,
        speaker=Speaker.CUSTOMER,
        mood=CallMood(current=emotion),
        emotion=result,
        intent=Need(intent=intent, label=label),
        suggestion=Suggestion(text="…", citations=["示范条款第六条"]),
        actions=[NextAction(code="report", label="发起报案", reason="r")],
    )


def test_summary_lists_needs_mood_path_citations_and_actions_with_masked_numbers() -> None:
    turns = [
        Turn(speaker=Speaker.CUSTOMER, text="我车被淹了，我电话13812345678"),
        Turn(speaker=Speaker.AGENT, text="您先别急"),
        Turn(speaker=Speaker.CUSTOMER, text="好的谢谢"),
    ]
    history = [
        _caller(0, turns[0].text, "report_claim", "报案", Emotion.ANXIOUS),
        _caller(1, turns[1].text, "report_claim", "报案", Emotion.ANXIOUS).model_copy(
            update={"speaker": Speaker.AGENT}
        ),
        _caller(2, turns[2].text, "report_claim", "报案", Emotion.NEUTRAL),
    ]
    summary = summarize(turns, history)
    assert summary.needs == ["报案"]
    assert summary.mood_path == [Emotion.ANXIOUS, Emotion.NEUTRAL]
    assert "焦虑→平稳" in summary.text
    assert "示范条款第六条" in summary.text and "发起报案" in summary.text
    assert "13812345678" not in summary.text and "138****5678" in summary.text
    assert summary.disposition is Disposition.CLAIM_REPORTED
    assert "13812345678" not in transcript_text(turns)


def test_a_call_without_caller_turns_cannot_be_summarised() -> None:
    with pytest.raises(PolicyDeskError, match="no caller turn"):
        summarize([Turn(speaker=Speaker.AGENT, text="您好")], [])


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
