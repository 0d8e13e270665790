"""The handoff package: everything a human agent needs to take over a bot conversation.

Pure models and rules (priority, the reasons in words); the queue that stores them is
``chatbot.queue``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from conversation.models import Turn
from core.models import Emotion, Hit
from customers.models import CustomerProfile

# what each routing reason means, in the words an agent (and the customer) reads
REASON_TEXT: dict[str, str] = {
    "injury_emergency": "涉及人员受伤或紧急情况",
    "legal_threat": "客户提及投诉监管或法律途径",
    "upset": "客户情绪激动",
    "complaint": "客户投诉",
    "dispute": "对定损、责任或拒赔有异议",
    "needs_decision": "需要人工判断或审批",
    "explicit_request": "客户要求人工服务",
    "low_confidence": "知识库没有可靠答案",
    "bot_failed": "机器人两次未能解决",
    "identity_locked": "身份核验多次失败，已锁定自助核验",
    "foreign_language": "客户使用外语（非中文）",
}

# priority 0 is served first: danger, then anger and legal threats, then disputes and decisions
_PRIORITY: dict[str, int] = {
    "injury_emergency": 0,
    "upset": 1,
    "legal_threat": 1,
    "complaint": 2,
    "dispute": 2,
    "needs_decision": 2,
    "identity_locked": 2,
}
LOWEST_PRIORITY = 3


def priority_for(reasons: list[str]) -> int:
    """0 (injury, emergency) … 3 (a plain request for a person, low confidence, bot failures)."""
    return min((_PRIORITY.get(r, LOWEST_PRIORITY) for r in reasons), default=LOWEST_PRIORITY)


class HandoffState(StrEnum):
    """waiting → accepted → resolved."""

    WAITING = "waiting"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"


class MoodPoint(BaseModel):
    """The customer's emotion on one of their messages."""

    turn: int = Field(ge=0, description="index of the customer message, oldest first")
    label: Emotion
    intensity: float
    upset: bool


class NewHandoff(BaseModel):
    """What the chatbot submits when it hands a conversation over."""

    session_id: str = Field(min_length=1, max_length=40)
    customer: CustomerProfile | None = Field(
        default=None, description="masked profile; None when the customer was not verified"
    )
    transcript: list[Turn] = Field(min_length=1)
    intent: str
    intent_label: str
    mood: list[MoodPoint] = Field(default_factory=list)
    references: list[Hit] = Field(default_factory=list, description="what the bot retrieved")
    bot_answers: list[str] = Field(default_factory=list, description="what the bot already said")
    reasons: list[str] = Field(min_length=1)
    reason_text: list[str] = Field(default_factory=list)
    suggested_reply: str = Field(description="a guarded first reply for the agent")
    learned_only: bool = Field(
        default=False,
        description="only the learned detector asked for a person (up for routing review)",
    )
    gathered: str = Field(
        default="", description="what a guided flow (一键报案…) gathered before the handoff"
    )


class HandoffRequest(NewHandoff):
    """A stored handoff with its place in the queue."""

    id: str
    priority: int = Field(ge=0, le=LOWEST_PRIORITY)
    state: HandoffState
    created_at: datetime
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
