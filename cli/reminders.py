"""``policydesk reminders``: the 车主秘书 job and its outbox.

* ``run [--date YYYY-MM-DD] [--json]``: plan the day's reminders, queue them, deliver what is
  due; prints the report. A second run of the same day queues nothing new (it retries what is
  due). Schedule it every few minutes: each run also retries failed attempts whose back-off ended.
* ``outbox [--status queued|sent|failed] [--json]``: the outbox, newest first; failed messages
  with their error.
* ``opt-out CUSTOMER [--kind K]``: the customer wants no reminders of a kind (or none).

Bad arguments are usage errors (exit 2) with a message naming the value.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import TextIO

from outreach.models import MessageStatus, ReminderKind, RunReport
from services.root import Services


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2026-11-05, got {text!r}") from None


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``reminders`` command and its subcommands."""
    reminders = sub.add_parser("reminders", help="车主秘书: proactive reminders and their outbox")
    commands = reminders.add_subparsers(dest="reminders_command", required=True)
    run = commands.add_parser("run", help="plan, queue and deliver a day's reminders")
    run.add_argument("--date", type=_date, help="the day, YYYY-MM-DD (default: today)")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    outbox = commands.add_parser("outbox", help="the outbox, newest first")
    outbox.add_argument("--status", choices=[s.value for s in MessageStatus])
    outbox.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    outbox.add_argument("--json", action="store_true", help="machine-readable output")
    opt_out = commands.add_parser("opt-out", help="a customer wants no reminders (of a kind)")
    opt_out.add_argument("customer", help="customer id, e.g. C00001")
    opt_out.add_argument(
        "--kind", choices=[k.value for k in ReminderKind], help="only this kind (default: all)"
    )


def _print_report(report: RunReport, out: TextIO) -> None:
    out.write(
        f"{report.day}: {report.candidates} reminders found, {report.planned} queued in "
        f"{report.queued} messages ({report.merged} merged, {report.deferred} deferred by the "
        "quiet hours)\n"
    )
    for kind, count in report.by_kind.items():
        out.write(f"  {kind:<12} {count}\n")
    for reason, count in report.skipped.items():
        out.write(f"  skipped: {reason:<12} {count}\n")
    d = report.delivery
    out.write(f"delivery: {d.sent} sent, {d.retrying} retrying, {d.failed} failed\n")
    for reason, count in d.waiting.items():
        out.write(f"  waiting: {count} — {reason}\n")
    for message in d.failures:
        out.write(
            f"  FAILED #{message.id} {message.channel.value} {message.customer_id} "
            f"{message.destination}: {message.last_error}\n"
        )


def cmd_reminders(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Run the job, list the outbox, or record an opt-out. Exit 1 when a message failed."""
    services.require_database()
    reminders = services.reminders
    now = datetime.now(UTC)
    if args.reminders_command == "run":
        report = reminders.run(args.date or reminders.today(now), now)
        if args.json:
            out.write(report.model_dump_json() + "\n")
        else:
            _print_report(report, out)
        return 1 if report.delivery.failed else 0
    if args.reminders_command == "outbox":
        status = MessageStatus(args.status) if args.status else None
        messages = reminders.outbox(status, limit=args.limit)
        if args.json:
            out.write(
                json.dumps([m.model_dump(mode="json") for m in messages], ensure_ascii=False) + "\n"
            )
            return 0
        for m in messages:
            line = (
                f"#{m.id} {m.status.value:<6} {m.channel.value:<6} {m.customer_id} "
                f"{m.destination} {'/'.join(k.value for k in m.kinds)} attempts={m.attempts}"
            )
            if m.last_error:
                line += f"  — {m.last_error}"
            out.write(line + "\n")
        if not messages:
            out.write("no messages\n")
        return 0
    kind = ReminderKind(args.kind) if args.kind else None
    added = reminders.opt_out(args.customer, kind, now)
    what = kind.value if kind else "all reminders"
    out.write(f"{args.customer}: opted out of {what}{'' if added else ' (already)'}\n")
    return 0


COMMANDS = {"reminders": cmd_reminders}
