"""Call wrap-up: a summary of the call (template, or the LLM when configured) and a disposition.

``summarize`` is pure; ``WrapUpService`` adds the optional LLM and saves to the customer history.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from assist.models import AgentAssist, Disposition
from conversation.intents import Intent
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.masking import redact
from core.models import Emotion
from customers.store import CustomerStore
from prompts.llm import LlmPhraser

QUOTE_CHARS = 60
MAX_SUMMARY_CHARS = 1000

EMOTION_TEXT = {
    Emotion.ANGRY: "愤怒",
    Emotion.ANXIOUS: "焦虑",
    Emotion.DISSATISFIED: "不满",
    Emotion.NEUTRAL: "平稳",
    Emotion.POSITIVE: "满意",
}


class CallSummary(BaseModel):
    """What the console proposes at the end of a call; the agent may edit the text."""

    text: str
    needs: list[str] = Field(default_factory=list, description="need labels, first seen first")
    mood_path: list[Emotion] = Field(default_factory=list, description="per caller turn")
    alerts: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    disposition: Disposition = Disposition.ANSWERED
    source: str = Field(default="template", description="template or llm")
    note: str = ""


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _mood_text(path: Sequence[Emotion]) -> str:
    steps: list[Emotion] = []
    for emotion in path:
        if not steps or steps[-1] is not emotion:
            steps.append(emotion)
    return "→".join(EMOTION_TEXT[e] for e in steps)


def suggested_disposition(intents: Sequence[str], action_codes: Sequence[str]) -> Disposition:
    """The disposition that fits what happened on the call (the agent can change it)."""
    if "complaint" in intents:
        return Disposition.COMPLAINT
    if "escalate" in action_codes:
        return Disposition.ESCALATED
    if "amount_dispute" in intents or "refusal_dispute" in intents:
        return Disposition.REVIEW_REQUESTED
    if "report_claim" in intents:
        return Disposition.CLAIM_REPORTED
    if "value_added" in intents:
        return Disposition.SERVICE_ARRANGED
    return Disposition.ANSWERED


def transcript_text(turns: Sequence[Turn]) -> str:
    """The call as plain lines, with identifiers masked."""
    names = {Speaker.CUSTOMER: "客户", Speaker.AGENT: "坐席", Speaker.BOT: "机器人"}
    return "\n".join(f"{names[t.speaker]}：{redact(t.text)}" for t in turns)


def summarize(turns: Sequence[Turn], history: Sequence[AgentAssist]) -> CallSummary:
    """The template summary of a call (pure).

    Args:
        turns: every turn of the call.
        history: the assist view after each turn (same order).

    Returns:
        The summary, with identifiers in the caller's words masked.

    Raises:
        PolicyDeskError: the call has no caller turn to summarise.
    """
    caller = [a for a in history if a.speaker is Speaker.CUSTOMER]
    first = next((t for t in turns if t.speaker is Speaker.CUSTOMER), None)
    if first is None or not caller:
        raise PolicyDeskError("nothing to summarise: the call has no caller turn yet")
    intents = [a.intent.intent for a in caller if a.intent.intent is not Intent.OTHER]
    needs = _unique([a.intent.label for a in caller if a.intent.intent is not Intent.OTHER])
    path = [a.emotion.label if a.emotion else a.mood.current for a in caller]
    alerts = _unique([a.alert.message for a in caller if a.alert])
    citations = _unique(
        [c for a in caller if a.suggestion for c in a.suggestion.citations]
        or [h.citation for a in caller for h in a.hits[:1]]
    )
    action_codes = _unique([x.code for a in caller for x in a.actions])
    actions = _unique([x.label for a in caller for x in a.actions])
    quote = redact(" ".join(first.text.split()))
    if len(quote) > QUOTE_CHARS:
        quote = quote[:QUOTE_CHARS] + "…"
    parts = [f"客户诉求：{'、'.join(needs) or '一般咨询'}。", f"客户来电称：“{quote}”。"]
    mood = f"客户情绪：{_mood_text(path)}"
    if alerts:
        mood += f"；情绪提醒{len(alerts)}次（{'；'.join(alerts)}）"
    parts.append(mood + "。")
    if citations:
        parts.append(f"答复依据：{'、'.join(citations[:4])}。")
    if actions:
        parts.append(f"建议/已办事项：{'、'.join(actions[:5])}。")
    return CallSummary(
        text="".join(parts),
        needs=needs,
        mood_path=path,
        alerts=alerts,
        citations=citations,
        actions=actions,
        disposition=suggested_disposition(intents, action_codes),
    )


class WrapUpService:
    """Drafts the summary (LLM when configured) and saves it with a disposition."""

    def __init__(self, customers: CustomerStore, phraser: LlmPhraser | None = None) -> None:
        self._customers = customers
        self._phraser = phraser

    def draft(self, turns: Sequence[Turn], history: Sequence[AgentAssist]) -> CallSummary:
        """The summary the agent reviews: the template, rephrased by the LLM when one is set.

        Raises:
            PolicyDeskError: the call has no caller turn yet.
        """
        summary = summarize(turns, history)
        if self._phraser is None:
            return summary
        phrased = self._phraser.summarize(transcript_text(turns), summary.text, summary.text)
        return summary.model_copy(
            update={"text": redact(phrased.text), "source": phrased.source, "note": phrased.note}
        )

    def save(
        self, customer_id: str, text: str, disposition: Disposition | str, agent: str = ""
    ) -> None:
        """Save the call to the customer's history (identifiers masked).

        Raises:
            PolicyDeskError: empty or over-long summary, or an unknown disposition.
            CustomerNotFoundError: unknown customer.
        """
        body = " ".join(text.split())
        if not body:
            raise PolicyDeskError("the call summary is empty")
        if len(body) > MAX_SUMMARY_CHARS:
            raise PolicyDeskError(
                f"the call summary is {len(body)} characters; the limit is {MAX_SUMMARY_CHARS}"
            )
        try:
            chosen = Disposition(disposition)
        except ValueError as exc:
            raise PolicyDeskError(f"unknown disposition {disposition!r}") from exc
        self._customers.add_interaction(
            customer_id, redact(body), chosen.value, channel="电话", agent=agent.strip()
        )
