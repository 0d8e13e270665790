"""车主秘书 on the demo data: what one day's reminder job plans and queues, and that a second run
of the same day queues nothing (``make bench``)."""

from __future__ import annotations

import tempfile
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from core.settings import Settings
from evaluation.api_load import _isolated
from services.root import Services

DEMO_DAY = date(2026, 11, 5)
"""A weekday of the demo data (its customers' policies and claims are dated around it)."""


def bench_reminders(settings: Settings, lines: list[str], day: date = DEMO_DAY) -> None:
    """Append the reminders section: counts by kind for one demo day, run twice.

    Raises:
        PolicyDeskError: the rules, the feeds or the database cannot be read.
    """
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        isolated = _isolated(settings, Path(tmp)) or settings
        # no channel: the day's messages stay queued (what was queued is what is measured)
        services = Services(
            isolated.model_copy(update={"sms_webhook_url": None, "wechat_webhook_url": None})
        )
        services.upgrade_database()
        now = datetime.combine(day, clock(10, 0), ZoneInfo(settings.centre_timezone))
        began = time.perf_counter()
        first = services.reminders.run(day, now)
        took = time.perf_counter() - began
        second = services.reminders.run(day, now)
        customers = services.customers.count()
    lines += [
        "## 车主秘书: one demo day of reminders",
        "",
        f"`policydesk reminders run --date {day}` on a copy of the demo database ({customers} "
        "fictional customers, the demo weather and violation feeds in `data/demo/feeds/`, rules "
        "`data/outreach/rules.yaml`, no channel configured so messages stay queued; "
        f"{took:.1f} s):",
        "",
        "| kind | reminders |",
        "|---|---:|",
        *(f"| {kind} | {n} |" for kind, n in sorted(first.by_kind.items(), key=lambda i: -i[1])),
        f"| **total** | **{sum(first.by_kind.values())}** |",
        "",
        f"{first.queued} messages queued ({first.merged} reminders merged into another's message, "
        f"{first.deferred} held for the quiet hours); skipped: "
        + (", ".join(f"{k} {v}" for k, v in sorted(first.skipped.items())) or "none")
        + f". The same day run again queued {second.queued} messages "
        f"({second.skipped.get('already_sent', 0)} reminders already sent).",
        "",
    ]
