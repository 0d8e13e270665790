"""The centre's KPIs: what each one counts, stated once, as sums over the contacts table.

Every metric is a numerator over a denominator of contacts (or a mean, or NPS), so the dashboard
reads all of them in one pass and the drill-down lists exactly the contacts a figure counts: its
``base`` rows, each marked whether it is in the numerator. ``value`` computes a figure from the
sums; the same function on the drill-down's rows gives the same figure (the tie-out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import ColumnElement, Float, Table, and_, case, cast, func, not_, true

from core.errors import PolicyDeskError
from db.schema import contacts_table as c


class Shape(StrEnum):
    """How a metric turns its sums into a figure."""

    SHARE = "share"
    """numerator / base, 0-1."""
    MEAN = "mean"
    """sum of a quantity over the base / base."""
    PER_100 = "per_100"
    """100 × sum of a count over the base / base."""
    NPS = "nps"
    """100 × (promoters − detractors) / answers."""


@dataclass(frozen=True)
class Metric:
    """One KPI: its name, what it means, which contacts it counts and what it sums."""

    name: str
    label: str
    definition: str
    shape: Shape
    base: ColumnElement[bool]
    """The contacts the figure is about (its ``n``)."""
    amount: ColumnElement[Any]
    """Per base contact: 1/0 for a share, the quantity for a mean or a per-100 count, +1/0/−1
    for NPS."""
    unit: str = ""


_agent = c.c.kind == "agent"
_bot = c.c.kind == "bot"
_flag = lambda condition: case((condition, 1), else_=0)  # noqa: E731


METRICS: tuple[Metric, ...] = (
    Metric(
        "fcr",
        "一次性解决率",
        "当次办结（机器人未转人工、坐席未升级、无需回访）"
        "且 7 天内同一客户未就同一事项再次接触的接触数 ÷ 全部接触数",
        Shape.SHARE,
        true(),
        _flag(
            and_(
                c.c.resolved,
                not_(c.c.repeated),
                not_(c.c.handoff),
                not_(c.c.escalated),
            )
        ),
    ),
    Metric(
        "repeat_contact_7d",
        "7 天重复接触率",
        "之后 7 天内同一客户就同一事项再次接触的接触数 ÷ 已识别客户的接触数",
        Shape.SHARE,
        c.c.customer_id.is_not(None),
        _flag(c.c.repeated),
    ),
    Metric(
        "aht_s",
        "平均处理时长",
        "坐席接触从开始到结束的秒数之和 ÷ 坐席接触数",
        Shape.MEAN,
        _agent,
        c.c.handle_s,
        "秒",
    ),
    Metric(
        "acw_s",
        "平均话后处理时长",
        "坐席接触从结束到保存小结的秒数之和 ÷ 坐席接触数（未保存计 0）",
        Shape.MEAN,
        _agent,
        c.c.acw_s,
        "秒",
    ),
    Metric(
        "upset_rate",
        "客户不满率",
        "客户在任一轮表现出不满、焦虑或愤怒的接触数 ÷ 全部接触数",
        Shape.SHARE,
        true(),
        _flag(c.c.upset),
    ),
    Metric(
        "recovery_rate",
        "情绪修复率",
        "结束时客户情绪已平复（最后一轮不再不满且强度低于峰值）的接触数 ÷ 客户不满的接触数",
        Shape.SHARE,
        c.c.upset,
        _flag(c.c.recovered.is_(True)),
    ),
    Metric(
        "handoff_rate",
        "转人工率",
        "机器人转给坐席的会话数 ÷ 机器人会话数",
        Shape.SHARE,
        _bot,
        _flag(c.c.handoff),
    ),
    Metric(
        "containment",
        "机器人自助解决率",
        "机器人独立办结（未转人工）的会话数 ÷ 机器人会话数",
        Shape.SHARE,
        _bot,
        _flag(and_(not_(c.c.handoff), c.c.resolved)),
    ),
    Metric(
        "complaint_rate",
        "投诉率",
        "登记投诉或以投诉为诉求的接触数 ÷ 全部接触数",
        Shape.SHARE,
        true(),
        _flag(c.c.complaint),
    ),
    Metric(
        "qa_score",
        "质检得分",
        "已质检坐席接触的自动质检得分（0-100，适用项加权通过率）之和 ÷ 已质检坐席接触数",
        Shape.MEAN,
        and_(_agent, c.c.qa_score.is_not(None)),
        func.coalesce(c.c.qa_score, 0.0),
        "分",
    ),
    Metric(
        "redlines_per_100",
        "每百通红线",
        "已质检坐席接触中的红线发现数 × 100 ÷ 已质检坐席接触数",
        Shape.PER_100,
        and_(_agent, c.c.qa_score.is_not(None)),
        c.c.redlines,
    ),
    Metric(
        "nps",
        "净推荐值 NPS",
        "回访调查中 9-10 分（推荐者）占比减 0-6 分（贬损者）占比，× 100；分母为作答的接触数",
        Shape.NPS,
        c.c.nps.is_not(None),
        case((c.c.nps >= 9, 1), (c.c.nps <= 6, -1), else_=0),
    ),
    Metric(
        "csat",
        "满意度 CSAT",
        "满意度调查 4-5 分（满意、非常满意）的接触数 ÷ 作答的接触数",
        Shape.SHARE,
        c.c.csat.is_not(None),
        _flag(c.c.csat >= 4),
    ),
)

METRIC_NAMES = tuple(m.name for m in METRICS)


def metric(name: str) -> Metric:
    """One metric by name.

    Raises:
        PolicyDeskError: an unknown name (the message lists the known ones).
    """
    for m in METRICS:
        if m.name == name:
            return m
    raise PolicyDeskError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}")


class KpiFilter(BaseModel):
    """Which contacts a view counts: a period (days, inclusive) and optionally a team or agent."""

    start: date
    end: date
    team: str | None = None
    agent: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> KpiFilter:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > 731:
            raise ValueError("a period is at most two years")
        return self

    def where(self, table: Table = c) -> ColumnElement[bool]:
        """The SQL condition for these contacts (in the contacts table, or the roll-up)."""
        conditions = [table.c.day >= self.start, table.c.day <= self.end]
        if self.team:
            conditions.append(table.c.team == self.team)
        if self.agent:
            conditions.append(table.c.agent == self.agent)
        return and_(*conditions)


HISTORY_DAYS = 90
"""A view's default span: the 90 days before today, and today so far."""


def default_period(today: date, end: date | None = None) -> tuple[date, date]:
    """The period a view shows when none is chosen: the ``HISTORY_DAYS`` days before ``end``
    (default today) and ``end`` itself (where the demo history ends, live contacts begin)."""
    last = end or today
    return last - timedelta(days=HISTORY_DAYS), last


class KpiValue(BaseModel):
    """One figure: its value (None when nothing counts), what it means and how many contacts."""

    value: float | None
    definition: str
    n: int = Field(ge=0)
    label: str = ""
    unit: str = ""


class KpiReport(BaseModel):
    """The figures of one view (``policydesk kpis --json`` prints this)."""

    period: dict[str, str | None]
    metrics: dict[str, KpiValue]


def columns() -> list[ColumnElement[Any]]:
    """Per metric, the two sums a figure needs: its base count and its summed amount."""
    out: list[ColumnElement[Any]] = []
    for m in METRICS:
        out.append(func.sum(_flag(m.base)).label(f"{m.name}__n"))
        out.append(
            func.sum(case((m.base, cast(m.amount, Float)), else_=0.0)).label(f"{m.name}__sum")
        )
    return out


def value(m: Metric, n: int, total: float) -> float | None:
    """A metric's figure from its base count and summed amount (None when the base is empty)."""
    if not n:
        return None
    if m.shape is Shape.SHARE:
        return round(total / n, 4)
    if m.shape is Shape.MEAN:
        return round(total / n, 1)
    return round(100.0 * total / n, 1)  # per 100, and NPS


def sums(row: Mapping[Any, Any]) -> dict[str, tuple[int, float]]:
    """Per metric, (base count, summed amount) from one row of ``columns()``."""
    return {
        m.name: (int(row.get(f"{m.name}__n") or 0), float(row.get(f"{m.name}__sum") or 0.0))
        for m in METRICS
    }


def figures(totals: Mapping[str, tuple[int, float]]) -> dict[str, KpiValue]:
    """Every metric's figure from its (base count, summed amount); a missing metric counts
    nothing."""
    out: dict[str, KpiValue] = {}
    for m in METRICS:
        n, total = totals.get(m.name, (0, 0.0))
        out[m.name] = KpiValue(
            value=value(m, n, total), definition=m.definition, n=n, label=m.label, unit=m.unit
        )
    return out


__all__ = [
    "HISTORY_DAYS",
    "METRICS",
    "METRIC_NAMES",
    "KpiFilter",
    "KpiReport",
    "KpiValue",
    "Metric",
    "Shape",
    "columns",
    "default_period",
    "figures",
    "metric",
    "sums",
    "value",
]
