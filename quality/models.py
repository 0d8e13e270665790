"""What quality work is about: a finished contact, its scorecard, reviews, surveys and KPIs.

A *contact* is one conversation with a customer, recorded when it ends: a call (a phone call, a
call typed at the console, or a chat an agent took over from the bot) or a self-service chat the
bot handled (``BOT``). Its row carries what the KPIs count, so a dashboard reads one table.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from enum import StrEnum

from pydantic import BaseModel, Field

from conversation.models import Speaker


class ContactKind(StrEnum):
    """Who handled the contact."""

    AGENT = "agent"
    """A person: a phone call, a console call, or a chat taken over from the bot."""
    BOT = "bot"
    """The self-service chatbot alone (it may have handed over: then ``handoff`` is set)."""


class Outcome(StrEnum):
    """How one scorecard item came out."""

    PASS = "pass"
    FAIL = "fail"
    NA = "na"
    """The item does not apply (no upset caller to show empathy to, no disposition saved)."""


class Evidence(BaseModel):
    """Where a score comes from: the turn, the words and the rule or model that decided it."""

    turn: int | None = Field(default=None, description="index into the contact's turns")
    speaker: Speaker | None = None
    span: str = Field(default="", description="the words that decided it (masked)")
    start: int = Field(default=0, ge=0, description="offset of the span in the turn's text")
    source: str = Field(description="rule:<id>, model:<name>, guard:<rule> or disposition")
    note: str = ""


class ItemScore(BaseModel):
    """One scorecard item on one contact."""

    item: str
    label: str
    outcome: Outcome
    weight: float = Field(ge=0)
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str = Field(default="", description="why, in words (Chinese, for the page)")


class QaResult(BaseModel):
    """The automated scorecard of one contact."""

    scorecard: str = Field(description="the scorecard's name and version that scored it")
    items: list[ItemScore]
    score: float | None = Field(description="0-100: weighted share of applicable items passed")
    redlines: int = Field(ge=0, description="red-line findings on the agent's (or bot's) turns")
    scored_at: datetime

    def item(self, item_id: str) -> ItemScore | None:
        """The score of one item, if the scorecard has it."""
        return next((i for i in self.items if i.item == item_id), None)


class ContactTurn(BaseModel):
    """One turn as quality work reads it: who, what (masked), and the live view's readings."""

    speaker: Speaker
    text: str
    at: datetime | None = None
    upset: bool = Field(default=False, description="the caller was upset on this turn")
    intensity: float = Field(default=0.0, ge=0, le=1)
    alert: bool = Field(default=False, description="an emotion alert fired on this turn")
    citations: list[str] = Field(default_factory=list, description="cards shown after it")
    findings: list[str] = Field(default_factory=list, description="guard rule ids on it")
    finding_spans: list[str] = Field(default_factory=list, description="the words they matched")


class Survey(BaseModel):
    """The customer's answer to the post-contact survey."""

    nps: int | None = Field(default=None, ge=0, le=10, description="likely to recommend, 0-10")
    csat: int | None = Field(default=None, ge=1, le=5, description="satisfied, 1-5")


class ContactRecord(BaseModel):
    """One finished contact, as the KPIs and the QA pages read it."""

    id: str
    kind: ContactKind
    channel: str
    agent: str = Field(default="", description="the agent who handled it ('' for the bot)")
    team: str = ""
    customer_id: str | None = None
    matter: str = Field(default="other", description="what it was about: the main intent")
    started_at: datetime
    ended_at: datetime
    handle_s: float = Field(ge=0, description="from start to end")
    acw_s: float = Field(default=0.0, ge=0, description="after-call work: end to wrap-up saved")
    upset: bool = False
    peak_intensity: float = Field(default=0.0, ge=0, le=1)
    end_intensity: float = Field(default=0.0, ge=0, le=1)
    recovered: bool | None = Field(default=None, description="upset, and calm by the end")
    handoff: bool = Field(default=False, description="the bot handed it to a person")
    handoff_reason: str = ""
    escalated: bool = Field(default=False, description="an agent escalated it to a supervisor")
    complaint: bool = False
    disposition: str = ""
    resolved: bool = Field(default=True, description="closed without a follow-up owed")
    repeated: bool = Field(
        default=False, description="the customer came back on the same matter within 7 days"
    )
    suggested_disposition: str = Field(default="", description="what the wrap-up draft proposed")
    turns: list[ContactTurn] = Field(default_factory=list)
    qa: QaResult | None = None
    survey: Survey = Field(default_factory=Survey)

    def local_day(self, zone: tzinfo) -> date:
        """The day it started in the centre's time zone: the dashboard's unit."""
        return self.started_at.astimezone(zone).date()
