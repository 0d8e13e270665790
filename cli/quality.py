"""``policydesk kpis``: the centre's KPIs over a period, for a team or an agent.

``--json`` prints ``{"period": {...}, "metrics": {name: {"value", "definition", "n"}}}``; without
it, one line per figure.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import TextIO

from pydantic import ValidationError

from core.errors import PolicyDeskError
from quality.kpis import KpiFilter, default_period
from services.root import Services


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``kpis`` command."""
    kpis = sub.add_parser("kpis", help="the centre's KPIs over a period (team, agent)")
    kpis.add_argument(
        "--from", dest="start", help="first day, YYYY-MM-DD (default: 90 days before --to)"
    )
    kpis.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today)")
    kpis.add_argument("--team", help="only this team's contacts")
    kpis.add_argument("--agent", help="only this agent's contacts")
    kpis.add_argument("--json", action="store_true", help="machine-readable output")


def _day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PolicyDeskError(f"{flag} must be a date like 2026-12-06, got {text!r}") from None


def view_of(
    start: str | None, end: str | None, team: str | None, agent: str | None, today: date
) -> KpiFilter:
    """The view the flags ask for (the last 90 days to today by default).

    Raises:
        PolicyDeskError: a malformed date, or a period that ends before it starts.
    """
    first, last = default_period(today, _day(end, "--to"))
    first = _day(start, "--from") or first
    try:
        return KpiFilter(start=first, end=last, team=team or None, agent=agent or None)
    except ValidationError as exc:
        raise PolicyDeskError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


def _shown(value: float | None, unit: str, name: str) -> str:
    if value is None:
        return "—"
    if name in ("nps", "qa_score", "redlines_per_100") or unit:
        return f"{value:g}{unit}"
    return f"{100 * value:.1f}%"


def cmd_kpis(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Print the KPIs of the view."""
    services.require_database()
    view = view_of(args.start, args.end, args.team, args.agent, services.quality.today())
    report = services.quality.kpis(view)
    # proactive contacts (车主秘书 reminders) are the centre's, not a team's or an agent's
    whole_centre = not (view.team or view.agent)
    proactive = services.reminders.proactive_counts(view.start, view.end) if whole_centre else None
    if args.json:
        body = {
            "period": report.period,
            "metrics": {
                name: {"value": v.value, "definition": v.definition, "n": v.n}
                for name, v in report.metrics.items()
            },
        }
        if proactive is not None:
            body["proactive"] = proactive.model_dump(mode="json")
        out.write(json.dumps(body, ensure_ascii=False) + "\n")
        return 0
    scope = args.agent or args.team or "全中心"
    out.write(f"{view.start} — {view.end}  {scope}\n")
    for name, v in report.metrics.items():
        out.write(f"{v.label or name:<12} {_shown(v.value, v.unit, name):>10}  n={v.n}  ({name})\n")
    if proactive is not None:
        kinds = ", ".join(f"{k} {n}" for k, n in proactive.reminders_by_kind.items()) or "—"
        out.write(
            f"{'主动触达':<12} {proactive.messages:>10}  sent={proactive.sent} "
            f"failed={proactive.failed} queued={proactive.queued}  (proactive: {kinds})\n"
        )
    return 0


COMMANDS = {"kpis": cmd_kpis}
