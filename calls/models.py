"""Live calls fed by the telephony side: what a call is, what a segment is, what comes back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from assist.models import AgentAssist
from conversation.models import Speaker, Turn
from retrieval.topics import Facet
from sentiment.mood import CallMood


class TopicFix(BaseModel):
    """The agent's correction of one facet of what the call is about (None: cleared)."""

    facet: Facet
    name: str | None = None


MAX_SEGMENT_CHARS = 2000
MAX_CALL_ID_CHARS = 64


class Channel(StrEnum):
    """Where a contact comes from."""

    PHONE = "phone"
    """A live call; the telephony side posts its transcript."""
    CONSOLE = "console"
    """A call typed or replayed at the console (training, demos, a call without telephony)."""
    CHAT = "chat"
    """A chat the bot handed over; the agent's replies go to the customer's chat."""


class CallState(StrEnum):
    """Whether the call is still going."""

    LIVE = "live"
    ENDED = "ended"


class Whisper(BaseModel):
    """A supervisor's note to the agent on a live call (shown on the agent's console)."""

    by: str
    text: str
    at: datetime


class CallInfo(BaseModel):
    """What the floor needs at a glance, kept up to date with each segment."""

    mood: CallMood = Field(default_factory=CallMood)
    findings: int = Field(default=0, description="compliance findings on the agent's turns")
    findings_text: list[str] = Field(default_factory=list, description="their reasons, in words")
    whispers: list[Whisper] = Field(default_factory=list)
    chat_seen: int = Field(default=0, description="a chat's conversation turns already in here")
    saved: bool = Field(default=False, description="the wrap-up was saved to the history")
    flagged_by: str | None = Field(default=None, description="a supervisor to take over")
    tier: str = Field(default="", description="the caller's member tier, when known")
    topic_fixes: list[TopicFix] = Field(
        default_factory=list, description="the agent's corrections of the topic, in order"
    )


class Segment(BaseModel):
    """One piece of transcript: interim (still changing) or final (the assist ran on it)."""

    seq: int = Field(ge=0)
    speaker: Speaker
    text: str = Field(description="stored redacted")
    final: bool
    received_at: datetime
    assist: AgentAssist | None = None


class Call(BaseModel):
    """A call and its transcript, segments in ``seq`` order."""

    id: str
    agent: str
    customer_id: str | None = None
    caller: str = Field(description="the caller's number, masked")
    channel: Channel = Channel.PHONE
    handoff_id: str | None = Field(default=None, description="the chat handoff it came from")
    state: CallState
    started_at: datetime
    ended_at: datetime | None = None
    info: CallInfo = Field(default_factory=CallInfo)
    segments: list[Segment] = Field(default_factory=list)
    version: int = 1

    def finals(self, before: int | None = None) -> list[Segment]:
        """The final segments in order (those with a lower ``seq`` than ``before``, if given)."""
        return [
            s
            for s in self.segments
            if s.final and s.assist is not None and (before is None or s.seq < before)
        ]

    def turns(self) -> list[Turn]:
        """The final segments as turns."""
        return [Turn(speaker=s.speaker, text=s.text, at=s.received_at) for s in self.finals()]

    @property
    def latest(self) -> AgentAssist | None:
        """The view after the latest final segment."""
        finals = self.finals()
        return finals[-1].assist if finals else None


class NewCall(BaseModel):
    """The telephony side reports a call that reached an agent."""

    call_id: str | None = Field(default=None, min_length=1, max_length=MAX_CALL_ID_CHARS)
    caller_number: str = Field(min_length=1, max_length=32)
    agent: str = Field(min_length=1, max_length=64)
    customer_id: str | None = Field(default=None, min_length=1, max_length=32)


class CallStarted(BaseModel):
    """The call as opened: its id and the customer it was matched to (None: anonymous)."""

    call_id: str
    customer_id: str | None


class NewSegment(BaseModel):
    """One piece of the speech-to-text transcript."""

    seq: int = Field(ge=0, le=1_000_000)
    speaker: Speaker = Field(description="customer or agent (or the bot, in a chat taken over)")
    text: str = Field(min_length=1, max_length=MAX_SEGMENT_CHARS)
    final: bool

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        return value


class SegmentResult(BaseModel):
    """What a segment produced: the assist view after a final one, None after an interim one."""

    call_id: str
    seq: int
    assist: AgentAssist | None
