"""Call wrap-up: a summary of the call (template, or the LLM when configured) and a disposition.

The summary states the facts ``assist.facts`` extracts with the trainer-editable rules of
``data/assist/wrapup.yaml``: what happened, what the caller wants, what the agent did or promised,
the next step, the disposition, and the agent's compliance findings. ``summarize`` is pure;
``WrapUpService`` adds the optional LLM (which may only rephrase those facts) and saves to the
customer history.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from assist.facts import AgentFinding, CallFacts, FactBook
from assist.models import AgentAssist, Disposition
from conversation.intents import Intent
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.masking import redact
from core.models import Emotion
from customers.store import CustomerStore
from prompts.llm import LlmPhraser

MAX_SUMMARY_CHARS = 1000

# what the summary says where the rules found nothing (the agent completes it)
NO_EVENT = "未识别到出险事件"
NO_REQUEST = "一般咨询"
NO_COMMITMENT = "未识别到办理或承诺事项"
NO_FOLLOW_UP = "无需跟进"
FOLLOW_UP_UNKNOWN = "待坐席补充"

DISPOSITION_WEIGHT = (
    Disposition.COMPLAINT,
    Disposition.ESCALATED,
    Disposition.REVIEW_REQUESTED,
    Disposition.CLAIM_REPORTED,
    Disposition.SERVICE_ARRANGED,
    Disposition.CALLBACK,
    Disposition.ANSWERED,
    Disposition.OTHER,
)
"""The disposition a call's commitments imply, weightiest first."""

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
    actions: list[str] = Field(default_factory=list, description="the actions suggested")
    disposition: Disposition = Disposition.ANSWERED
    facts: CallFacts = Field(default_factory=CallFacts, description="what the text states")
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


def fact_disposition(facts: CallFacts, intents: Sequence[str]) -> Disposition:
    """The disposition the call's facts support: the weightiest one a commitment implies (the
    agent registered a complaint, a review, a claim...), else the one the caller's needs suggest.

    Args:
        facts: the call's facts.
        intents: the caller's needs (intent ids), first seen first.

    Returns:
        The disposition to propose (the agent can change it).
    """
    done = {f.disposition for f in facts.commitments if f.disposition is not None}
    weightiest = next((d for d in DISPOSITION_WEIGHT if d in done), None)
    # a suggested action (escalate on an emotion alert) is advice, not something that was done
    return weightiest or suggested_disposition(intents, [])


def _sentence(heading: str, items: Sequence[str], none: str, joint: str = "；") -> str:
    return f"{heading}：{joint.join(items) or none}。"


def _finding_text(findings: Sequence[AgentFinding]) -> str:
    said = [f"坐席说“{f.words}”（{f.reason}）" for f in findings]
    return f"合规提示（{len(said)}处）：{'；'.join(said)}。"


def summarize(turns: Sequence[Turn], history: Sequence[AgentAssist], book: FactBook) -> CallSummary:
    """The template summary of a call (pure): the facts, stated.

    The event, the caller's requests, what the agent did or promised, the next steps and the
    disposition, the caller's mood path and the agent's compliance findings. It does not repeat
    the caller's words or the emotion alerts' reasons (the alerts stay in ``alerts``).

    Args:
        turns: every turn of the call.
        history: the assist views of the call (their ``turn`` numbers index ``turns``).
        book: the wrap-up rules.

    Returns:
        The summary, with identifiers masked.

    Raises:
        PolicyDeskError: the call has no caller turn to summarise.
    """
    caller = [a for a in history if a.speaker is Speaker.CUSTOMER]
    if not caller or not any(t.speaker is Speaker.CUSTOMER for t in turns):
        raise PolicyDeskError("nothing to summarise: the call has no caller turn yet")
    intents = [a.intent.intent for a in caller if a.intent.intent is not Intent.OTHER]
    needs = _unique([a.intent.label for a in caller if a.intent.intent is not Intent.OTHER])
    path = [a.emotion.label if a.emotion else a.mood.current for a in caller]
    alerts = _unique([a.alert.message for a in caller if a.alert])
    citations = _unique(
        [c for a in caller if a.suggestion for c in a.suggestion.citations]
        or [h.citation for a in caller for h in a.hits[:1]]
    )
    actions = _unique([x.label for a in caller for x in a.actions])
    facts = book.extract(turns, history)
    disposition = fact_disposition(facts, intents)
    next_none = NO_FOLLOW_UP if disposition is Disposition.ANSWERED else FOLLOW_UP_UNKNOWN
    parts = [
        _sentence("事件", [f.label for f in facts.events], NO_EVENT),
        _sentence("客户诉求", [f.label for f in facts.requests] or needs, NO_REQUEST, "、"),
        _sentence("坐席已办/承诺", [f.label for f in facts.commitments], NO_COMMITMENT),
        _sentence("下一步", [f.label for f in facts.next_steps], next_none),
        f"处理结果：{disposition.value}。",
        f"客户情绪：{_mood_text(path)}。",
    ]
    if facts.findings:
        parts.append(_finding_text(facts.findings))
    return CallSummary(
        text=redact("".join(parts)),
        needs=needs,
        mood_path=path,
        alerts=alerts,
        citations=citations,
        actions=actions,
        disposition=disposition,
        facts=facts,
    )


class WrapUpService:
    """Drafts the summary (LLM when configured) and saves it with a disposition."""

    def __init__(
        self, customers: CustomerStore, book: FactBook, phraser: LlmPhraser | None = None
    ) -> None:
        self._customers = customers
        self._book = book
        self._phraser = phraser

    def draft(self, turns: Sequence[Turn], history: Sequence[AgentAssist]) -> CallSummary:
        """The summary the agent reviews: the template, rephrased by the LLM when one is set.

        The LLM gets the template's facts and the transcript; whatever it writes, the summary's
        facts, disposition and compliance findings are the extracted ones.

        Args:
            turns: every turn of the call.
            history: the assist views of the call.

        Returns:
            The draft summary.

        Raises:
            PolicyDeskError: the call has no caller turn yet.
        """
        summary = summarize(turns, history, self._book)
        if self._phraser is None:
            return summary
        # the findings stay as extracted: the LLM rephrases the rest (its output passes the
        # guard, which would rewrite a sentence quoting the agent's red-line words)
        findings = redact(_finding_text(summary.facts.findings)) if summary.facts.findings else ""
        facts = summary.text.removesuffix(findings)
        phrased = self._phraser.summarize(transcript_text(turns), facts, facts)
        return summary.model_copy(
            update={
                "text": redact(phrased.text) + findings,
                "source": phrased.source,
                "note": phrased.note,
            }
        )

    def suggested(self, turns: Sequence[Turn], history: Sequence[AgentAssist]) -> Disposition:
        """The disposition the draft would propose, from the template's facts alone (no LLM).

        Raises:
            PolicyDeskError: the call has no caller turn yet.
        """
        return summarize(turns, history, self._book).disposition

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
