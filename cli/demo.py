"""``policydesk demo history``: record the fictional 90-day contact history the dashboards show
on a fresh machine (``make setup`` runs it once; ``--replace`` records it again)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TextIO

from core.errors import PolicyDeskError
from services.root import Services


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``demo`` command and its ``history`` subcommand."""
    demo = sub.add_parser("demo", help="fictional demo data")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    history = demo_sub.add_parser(
        "history", help="record the fictional contact history for the dashboards (once)"
    )
    history.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    history.add_argument("--agents", type=int, default=8, help="fictional agents (default 8)")
    history.add_argument("--seed", type=int, default=7, help="the plan's seed (default 7)")
    history.add_argument("--today", help="the day after the history, YYYY-MM-DD (default today)")
    history.add_argument(
        "--replace", action="store_true", help="remove an existing demo history and record anew"
    )


def cmd_demo(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Record the demo history and print what was recorded."""
    from services.demo_history import generate_history

    if not 1 <= args.days <= 366:
        raise PolicyDeskError(f"--days must be between 1 and 366, got {args.days}")
    if not 1 <= args.agents <= 200:
        raise PolicyDeskError(f"--agents must be between 1 and 200, got {args.agents}")
    today = services.quality.today()  # the centre's day: where a default view ends
    if args.today:
        try:
            today = date.fromisoformat(args.today)
        except ValueError:
            raise PolicyDeskError(
                f"--today must be a date like 2026-12-06, got {args.today!r}"
            ) from None
    summary = generate_history(
        services, today, days=args.days, agents=args.agents, seed=args.seed, replace=args.replace
    )
    if summary.skipped:
        out.write(
            f"{summary.contacts} demo contacts already recorded; nothing to do "
            "(--replace records the history again)\n"
        )
        return 0
    out.write(
        f"recorded {summary.contacts} fictional contacts from {summary.start} to {summary.end} "
        f"for {summary.agents} agents: {summary.calls} calls, {summary.chats} chats "
        f"({summary.handoffs} handed over), {summary.surveys} surveys, {summary.repeated} "
        f"repeated within 7 days; {summary.templates} scenarios run live; "
        f"{summary.seconds:.0f} s\n"
    )
    return 0


COMMANDS = {"demo": cmd_demo}
