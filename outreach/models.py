"""The outreach domain: rules (as loaded from ``data/outreach/rules.yaml``), feed records, the
plan a run makes and the outbox it fills. Only these models cross the package boundary."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from core.sql import as_utc
from core.templates import PLACEHOLDER

PLACEHOLDERS = frozenset(
    [
        "客户称呼",
        "车牌",
        "保单号",
        "到期日",
        "剩余天数",
        "年检日",
        "城市",
        "预警",
        "预警级别",
        "建议",
        "违章时间",
        "违章地点",
        "违章行为",
        "扣分",
        "罚款",
        "案件号",
        "等待天数",
    ]
)
"""The placeholders a reminder template may use."""


def _known_placeholders(template: str) -> str:
    unknown = sorted(set(PLACEHOLDER.findall(template)) - PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} in template {template!r}")
    return template


Template = Annotated[str, Field(min_length=1), AfterValidator(_known_placeholders)]


def _aware(value: datetime) -> datetime:
    return as_utc(value) if value.tzinfo is None else value


AwareTime = Annotated[datetime, AfterValidator(_aware)]


class ReminderKind(StrEnum):
    """What a reminder is about."""

    RENEWAL = "renewal"
    INSPECTION = "inspection"
    WEATHER = "weather"
    VIOLATION = "violation"
    CLAIM_DOCS = "claim_docs"


class Channel(StrEnum):
    """Where a message goes."""

    SMS = "sms"
    WECHAT = "wechat"


class MessageStatus(StrEnum):
    """An outbox message's state: queued (waiting, or retrying), sent, or failed for good."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class SkipReason(StrEnum):
    """Why a candidate reminder was not queued."""

    ALREADY_SENT = "already_sent"
    OPTED_OUT = "opted_out"
    WEEKLY_CAP = "weekly_cap"


# ----- rules -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleBase(_Strict):
    """What every rule has: on or off, how important (higher is kept first under the weekly
    cap), the channel, and the message template (``{客户称呼}`` etc.)."""

    enabled: bool = True
    priority: int = Field(ge=0, le=100)
    channel: Channel | None = Field(default=None, description="none: the rules' default channel")
    template: Template


class RenewalRule(RuleBase):
    """Before a policy ends: one reminder per offset (days before the end), the nearest first."""

    offsets: list[int] = Field(min_length=1)

    @field_validator("offsets")
    @classmethod
    def _positive_distinct(cls, value: list[int]) -> list[int]:
        if any(v < 0 for v in value) or len(set(value)) != len(value):
            raise ValueError(f"offsets must be distinct days >= 0, got {value}")
        return sorted(value, reverse=True)


class InspectionRule(RuleBase):
    """The annual inspection is due on the anniversary of the vehicle's policy start (the demo
    keeps no registration date; a car is insured from the day it is registered); remind once,
    ``window_days`` before."""

    window_days: int = Field(ge=1, le=90)


class WeatherAdvice(_Strict):
    """What to say for one kind of warning."""

    label: str = Field(min_length=1, description="e.g. 暴雨")
    advice: str = Field(min_length=1)


class WeatherRule(RuleBase):
    """A warning in force for the customer's city, once per warning."""

    kinds: dict[str, WeatherAdvice] = Field(min_length=1)
    min_level: str = Field(default="蓝", description="the lowest level that is sent: 蓝 黄 橙 红")

    @field_validator("min_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in WARNING_LEVELS:
            raise ValueError(f"min_level must be one of {WARNING_LEVELS}, got {value!r}")
        return value


class ViolationRule(RuleBase):
    """A new traffic violation of one of the customer's plates: recorded within ``new_days``."""

    new_days: int = Field(ge=1, le=60)


class ClaimDocsRule(RuleBase):
    """A claim waiting on the customer's documents: in one of ``stages`` for at least each of
    ``after_days`` (one reminder per threshold), and not longer than ``max_days`` (then it is an
    agent's case, not an automatic nudge)."""

    stages: list[str] = Field(min_length=1)
    after_days: list[int] = Field(min_length=1)
    max_days: int = Field(ge=1)

    @field_validator("after_days")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value) or len(set(value)) != len(value):
            raise ValueError(f"after_days must be distinct days >= 1, got {value}")
        return sorted(value)


class QuietHours(_Strict):
    """No message goes out between ``start`` and ``end`` (centre time; may span midnight)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(f"quiet hours start and end are both {self.start}")
        return self

    def contains(self, moment: time) -> bool:
        """Whether a local time of day is inside the quiet hours."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Rules(_Strict):
    """Every outreach rule; ``data/outreach/rules.yaml``."""

    default_channel: Channel
    quiet_hours: QuietHours
    weekly_cap: int = Field(ge=1, le=50, description="messages per customer per 7 days")
    wechat_template_id: str = Field(min_length=1)
    header: Template = Field(description="the opening of every message")
    footer: str = Field(default="", description="the close of every message")
    renewal: RenewalRule
    inspection: InspectionRule
    weather: WeatherRule
    violation: ViolationRule
    claim_docs: ClaimDocsRule

    def rule(self, kind: ReminderKind) -> RuleBase:
        """The rule of one kind."""
        rule: RuleBase = getattr(self, kind.value)
        return rule

    def channel(self, kind: ReminderKind) -> Channel:
        """The channel a kind of reminder goes by."""
        return self.rule(kind).channel or self.default_channel


# ----- feeds -------------------------------------------------------------------------------

WARNING_LEVELS = ("蓝", "黄", "橙", "红")
"""Weather warning levels, lowest first."""


class WeatherWarning(_Strict):
    """A weather warning for a city (from the weather feed)."""

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    city: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="a key of the weather rule's kinds, e.g. rainstorm")
    level: str
    starts: AwareTime
    ends: AwareTime
    text: str = ""

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in WARNING_LEVELS:
            raise ValueError(f"level must be one of {WARNING_LEVELS}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> WeatherWarning:
        if self.ends <= self.starts:
            raise ValueError(f"ends ({self.ends}) must be after starts ({self.starts})")
        return self


class TrafficViolation(_Strict):
    """A recorded traffic violation of a plate (from the violation feed)."""

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    plate: str = Field(min_length=5, max_length=16)
    at: AwareTime
    place: str = Field(min_length=1)
    act: str = Field(min_length=1, description="what was done, e.g. 违反禁令标志指示")
    points: int = Field(ge=0, le=12)
    fine: int = Field(ge=0)


class Feeds(BaseModel):
    """What the feeds said at run time."""

    weather: list[WeatherWarning] = Field(default_factory=list)
    violations: list[TrafficViolation] = Field(default_factory=list)


# ----- planning ----------------------------------------------------------------------------


class OptOut(BaseModel):
    """A customer's refusal of one kind of reminder, or of all (``kind`` None)."""

    customer_id: str
    kind: ReminderKind | None = None


class PlannedReminder(BaseModel):
    """One reminder for one customer. ``key`` (``rule:subject:detail``) is stable: the same
    reminder on another run has the same key."""

    customer_id: str
    kind: ReminderKind
    key: str
    priority: int
    channel: Channel
    text: str


class PlannedMessage(BaseModel):
    """One customer's reminders on one channel, merged into one message."""

    customer_id: str
    channel: Channel
    reminders: list[PlannedReminder]
    body: str
    send_at: AwareTime = Field(description="now, or the end of the quiet hours")
    deferred: bool = Field(default=False, description="held back by the quiet hours")

    @property
    def priority(self) -> int:
        """The importance of the message: its most important reminder's."""
        return max(r.priority for r in self.reminders)


class Skipped(BaseModel):
    """A candidate reminder that was not queued, and why."""

    customer_id: str
    kind: ReminderKind
    key: str
    reason: SkipReason


class Plan(BaseModel):
    """What one run decided."""

    day: date
    messages: list[PlannedMessage]
    skipped: list[Skipped]

    @property
    def reminders(self) -> list[PlannedReminder]:
        """Every reminder that goes out, in message order."""
        return [r for m in self.messages for r in m.reminders]


# ----- outbox and reports ------------------------------------------------------------------


class OutboxMessage(BaseModel):
    """A message in the outbox. ``destination`` is masked; the full number is read only when
    the message is sent."""

    id: int
    customer_id: str
    channel: Channel
    destination: str = Field(description="masked")
    body: str
    reminder_keys: list[str]
    kinds: list[ReminderKind]
    status: MessageStatus
    attempts: int
    next_attempt_at: AwareTime | None
    last_error: str
    created_at: AwareTime
    sent_at: AwareTime | None


class DeliveryReport(BaseModel):
    """What one delivery pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: dict[str, int] = Field(
        default_factory=dict, description="still queued, not attempted, by reason"
    )
    failures: list[OutboxMessage] = Field(default_factory=list, description="failed for good")


class RunReport(BaseModel):
    """What one run of the job did."""

    day: date
    candidates: int = Field(description="reminders the rules found, before any skip")
    planned: int = Field(description="reminders that go out on this run")
    queued: int = Field(description="messages newly queued")
    merged: int = Field(description="reminders that share a message with another")
    deferred: int = Field(description="messages held until the quiet hours end")
    skipped: dict[str, int] = Field(description="reminders not queued, by reason")
    by_kind: dict[str, int] = Field(description="reminders queued, by kind")
    delivery: DeliveryReport


class ProactiveCounts(BaseModel):
    """Proactive contacts over a period, for the KPIs (by the day each message was queued)."""

    start: date
    end: date
    messages: int
    sent: int
    failed: int
    queued: int
    reminders_by_kind: dict[str, int]


class SentReminder(BaseModel):
    """A customer's reminder as queued, with its message (the chatbot's context)."""

    key: str
    kind: ReminderKind
    day: date
    queued_at: AwareTime
    message_id: int
    status: MessageStatus
    body: str
