"""Typed inputs and outputs of the assist pipeline."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from conversation.intents import INTENT_LABELS, Intent
from conversation.models import Speaker
from core.models import EmotionResult, Hit
from prompts.guard import ComplianceReport
from retrieval.topics import TopicState
from sentiment.mood import CallMood, MoodAlert


class Need(BaseModel):
    """The caller's current need, from the recent caller turns."""

    intent: Intent = Intent.OTHER
    label: str = Field(default=INTENT_LABELS[Intent.OTHER], description="the intent in Chinese")
    score: float = 0.0
    matched: list[str] = Field(default_factory=list)


class Suggestion(BaseModel):
    """A reply the agent may use; it has passed the compliance guard."""

    text: str
    citations: list[str] = Field(default_factory=list)
    source: str = Field(default="template", description="template or llm")
    rewritten: bool = Field(default=False, description="the guard replaced a sentence")
    note: str = Field(default="", description="why an LLM phrasing was not used, when it was not")


class NextAction(BaseModel):
    """A next-best action for the agent."""

    code: str
    label: str
    reason: str


class AgentAssist(BaseModel):
    """Everything the console shows after one turn."""

    turn: int
    speaker: Speaker
    mood: CallMood
    emotion: EmotionResult | None = None
    alert: MoodAlert | None = None
    intent: Need
    hits: list[Hit] = Field(default_factory=list, description="clauses and FAQ answers")
    cases: list[Hit] = Field(default_factory=list, description="similar precedent cases")
    topic: TopicState = Field(
        default_factory=TopicState, description="what the call is about so far (topic state)"
    )
    suggestion: Suggestion | None = None
    actions: list[NextAction] = Field(default_factory=list)
    compliance: ComplianceReport | None = Field(
        default=None, description="the guard's check of the agent's own turn or draft"
    )


class Disposition(StrEnum):
    """How the call ended, as saved in the customer's history."""

    ANSWERED = "已解答"
    CLAIM_REPORTED = "已报案"
    SERVICE_ARRANGED = "已安排救援/代驾"
    REVIEW_REQUESTED = "已申请复核"
    ESCALATED = "已升级主管"
    COMPLAINT = "已登记投诉"
    CALLBACK = "需回访"
    OTHER = "其他"
