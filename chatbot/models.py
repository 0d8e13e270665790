"""Typed inputs and outputs of the self-service chatbot."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from chatbot.flows import FlowState, RecordType
from conversation.models import Turn
from core.models import Emotion, Hit
from retrieval.topics import TopicState

MAX_MESSAGE_CHARS = 500


class RecordRef(BaseModel):
    """A record a self-service flow created with this answer (a claim report, an appointment…)."""

    type: RecordType
    id: str


class BotAnswer(BaseModel):
    """The bot's reply to one customer message."""

    session_id: str
    text: str = Field(description="the customer message this answers")
    route: Literal["bot", "human"]
    intent: str
    answer: str = Field(description="what the bot says to the customer (guarded)")
    citations: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list, description="why it handed over, if it did")
    handoff_id: str | None = None
    needs_identity: bool = Field(default=False, description="the bot asked for an identity check")
    verified: bool = Field(default=False, description="the customer passed the identity check")
    source: str = Field(default="template", description="template or llm")
    record: RecordRef | None = Field(default=None, description="what a finished flow created")

    def contract(self) -> dict[str, object]:
        """The documented JSON shape of ``policydesk chat --json`` (``record`` only when a flow
        created one with this answer)."""
        shape: dict[str, object] = {
            "text": self.text,
            "route": self.route,
            "intent": self.intent,
            "answer": self.answer,
            "citations": self.citations,
            "reasons": self.reasons,
        }
        if self.record is not None:
            shape["record"] = self.record.model_dump(mode="json")
        return shape


class SentFile(BaseModel):
    """A file as the customer's client sent it (a photo, a PDF)."""

    name: str = ""
    data: bytes = Field(repr=False)
    content_type: str | None = Field(default=None, description="what the client said it is")


class NewSession(BaseModel):
    """A conversation just started, with the secret its customer's client keeps (shown once)."""

    id: str
    secret: str = Field(repr=False, description="proves the conversation is the customer's")
    channel: str


class MoodStep(BaseModel):
    """The caller's emotion on one message."""

    label: Emotion
    intensity: float
    upset: bool


class Conversation(BaseModel):
    """Everything the bot keeps about one conversation (stored between messages)."""

    id: str
    created_at: datetime
    channel: str = "chat"
    turns: list[Turn] = Field(default_factory=list)
    moods: list[MoodStep] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list, description="per customer message")
    references: list[Hit] = Field(default_factory=list, description="what the bot retrieved")
    answers: list[str] = Field(default_factory=list, description="what the bot said")
    customer_id: str | None = Field(default=None, description="set by a passed identity check")
    pending_intent: str | None = Field(default=None, description="waiting for identity for this")
    identity_failures: int = 0
    bot_failures: int = 0
    upset_turns: int = 0
    handoff_id: str | None = None
    recent: list[datetime] = Field(default_factory=list, description="message times (rate limit)")
    topic: TopicState = Field(
        default_factory=TopicState, description="what the conversation is about so far"
    )
    survey_stage: Literal["csat", "nps"] | None = Field(
        default=None, description="the survey question the bot is waiting for an answer to"
    )
    csat: int | None = Field(default=None, ge=1, le=5, description="the survey's 1-5 answer")
    nps: int | None = Field(default=None, ge=0, le=10, description="the survey's 0-10 answer")
    reminder: list[str] = Field(
        default_factory=list,
        description="the kinds of the 车主秘书 reminder this conversation replies to (renewal…)",
    )
    flow: FlowState | None = Field(
        default=None, description="the guided self-service flow (一键报案…) under way or last run"
    )

    def customer_texts(self) -> list[str]:
        """What the customer has said, oldest first."""
        return [t.text for t in self.turns if t.speaker.value == "customer"]
