"""Planning a day's reminders (pure): which reminders the rules find for each customer, which
are dropped (already sent, opted out, over the weekly cap) and why, how the rest merge into one
message per customer and channel, and when that message may go out (not in the quiet hours).

Days are the centre's days: a feed time or a claim event counts on its local date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.templates import fill_placeholders
from customers.models import ERASED_NAME, CustomerProfile
from outreach.models import (
    WARNING_LEVELS,
    Channel,
    Feeds,
    OptOut,
    Plan,
    PlannedMessage,
    PlannedReminder,
    QuietHours,
    ReminderKind,
    Rules,
    Skipped,
    SkipReason,
)


def _anniversary(start: date, on_or_after: date) -> date:
    """The first anniversary of ``start`` on or after a day (29 February counts as the 28th)."""
    for year in (on_or_after.year, on_or_after.year + 1):
        try:
            candidate = start.replace(year=year)
        except ValueError:
            candidate = date(year, 2, 28)
        if candidate >= on_or_after:
            return candidate
    raise AssertionError("unreachable: next year's anniversary is always later")


def _reminder(
    rules: Rules,
    customer: CustomerProfile,
    kind: ReminderKind,
    key: str,
    values: Mapping[str, str],
) -> PlannedReminder:
    rule = rules.rule(kind)
    text = fill_placeholders(rule.template, {"客户称呼": customer.salutation, **values})
    return PlannedReminder(
        customer_id=customer.id,
        kind=kind,
        key=key,
        priority=rule.priority,
        channel=rules.channel(kind),
        text=text,
    )


def candidates(
    customer: CustomerProfile, feeds: Feeds, rules: Rules, day: date, zone: ZoneInfo
) -> list[PlannedReminder]:
    """Every reminder the rules find for one customer on one day, before any skip.

    Args:
        customer: the (masked) profile.
        feeds: the weather warnings and traffic violations read for this run.
        rules: the outreach rules.
        day: the run's day (centre time).
        zone: the centre's time zone.

    Returns:
        The reminders, each with its stable key; none for an erased customer.
    """
    if customer.name == ERASED_NAME:
        return []
    found: list[PlannedReminder] = []
    plates = {v.plate for v in customer.vehicles}

    if rules.renewal.enabled:
        latest_end: dict[str, date] = {}
        for policy in customer.policies:
            latest_end[policy.plate] = max(latest_end.get(policy.plate, policy.end), policy.end)
        for policy in customer.policies:
            left = (policy.end - day).days
            if policy.end < latest_end[policy.plate] or not 0 <= left <= rules.renewal.offsets[0]:
                continue  # renewed already, ended, or not yet near its end
            offset = min(o for o in rules.renewal.offsets if o >= left)
            found.append(
                _reminder(
                    rules,
                    customer,
                    ReminderKind.RENEWAL,
                    f"renewal:{policy.policy_no}:{offset}",
                    {
                        "车牌": policy.plate,
                        "保单号": policy.policy_no,
                        "到期日": f"{policy.end:%Y年%m月%d日}",
                        "剩余天数": str(left),
                    },
                )
            )

    if rules.inspection.enabled:
        first_start: dict[str, date] = {}
        for policy in customer.policies:
            first_start[policy.plate] = min(
                first_start.get(policy.plate, policy.start), policy.start
            )
        for plate in sorted(plates & first_start.keys()):
            due = _anniversary(first_start[plate], day)
            if (due - day).days <= rules.inspection.window_days:
                found.append(
                    _reminder(
                        rules,
                        customer,
                        ReminderKind.INSPECTION,
                        f"inspection:{plate}:{due.isoformat()}",
                        {"车牌": plate, "年检日": f"{due:%Y年%m月%d日}"},
                    )
                )

    if rules.weather.enabled:
        lowest = WARNING_LEVELS.index(rules.weather.min_level)
        for warning in feeds.weather:
            advice = rules.weather.kinds.get(warning.kind)
            starts = warning.starts.astimezone(zone).date()
            ends = warning.ends.astimezone(zone).date()
            if (
                advice is None  # a kind without advice is not sent
                or warning.city != customer.city
                or WARNING_LEVELS.index(warning.level) < lowest
                or not starts <= day <= ends
            ):
                continue
            found.append(
                _reminder(
                    rules,
                    customer,
                    ReminderKind.WEATHER,
                    f"weather:{warning.id}:{starts.isoformat()}",
                    {
                        "城市": warning.city,
                        "预警": advice.label,
                        "预警级别": warning.level,
                        "建议": advice.advice,
                    },
                )
            )

    if rules.violation.enabled:
        for violation in feeds.violations:
            local = violation.at.astimezone(zone)
            if violation.plate not in plates:
                continue
            if not 0 <= (day - local.date()).days <= rules.violation.new_days:
                continue
            found.append(
                _reminder(
                    rules,
                    customer,
                    ReminderKind.VIOLATION,
                    f"violation:{violation.plate}:{violation.id}",
                    {
                        "车牌": violation.plate,
                        "违章时间": f"{local:%m月%d日%H:%M}",
                        "违章地点": violation.place,
                        "违章行为": violation.act,
                        "扣分": str(violation.points),
                        "罚款": str(violation.fine),
                    },
                )
            )

    if rules.claim_docs.enabled:
        for claim in customer.claims:
            if claim.stage not in rules.claim_docs.stages:
                continue
            since = max([claim.reported_at, *(e.at for e in claim.timeline)])
            waited = (day - since.astimezone(zone).date()).days
            if not rules.claim_docs.after_days[0] <= waited <= rules.claim_docs.max_days:
                continue
            threshold = max(t for t in rules.claim_docs.after_days if t <= waited)
            found.append(
                _reminder(
                    rules,
                    customer,
                    ReminderKind.CLAIM_DOCS,
                    f"claim_docs:{claim.claim_no}:{threshold}",
                    {"案件号": claim.claim_no, "车牌": claim.plate, "等待天数": str(waited)},
                )
            )
    return found


def next_allowed(moment: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in (centre time).

    Args:
        moment: an aware time.
        quiet: the quiet hours.
        zone: the centre's time zone.

    Returns:
        An aware time outside the quiet hours, in the centre's zone.
    """
    local = moment.astimezone(zone)
    if not quiet.contains(local.time()):
        return local
    end = datetime.combine(local.date(), quiet.end, zone)
    return end if end > local else end + timedelta(days=1)


def merge(reminders: list[PlannedReminder], rules: Rules, salutation: str) -> str:
    """One message from one customer's reminders on one channel, in the order given."""
    head = fill_placeholders(rules.header, {"客户称呼": salutation})
    if len(reminders) == 1:
        lines = [reminders[0].text]
    else:
        lines = [f"{n}. {r.text}" for n, r in enumerate(reminders, start=1)]
    return "\n".join([head, *lines, *([rules.footer] if rules.footer else [])])


def _opted_out(opt_outs: Iterable[OptOut]) -> dict[str, set[ReminderKind | None]]:
    refused: dict[str, set[ReminderKind | None]] = defaultdict(set)
    for opt_out in opt_outs:
        refused[opt_out.customer_id].add(opt_out.kind)
    return refused


def plan(
    customers: Iterable[CustomerProfile],
    feeds: Feeds,
    rules: Rules,
    day: date,
    already_sent: Collection[tuple[str, str]],
    opt_outs: Iterable[OptOut],
    sent_this_week: Mapping[str, int],
    now: datetime,
    zone: ZoneInfo,
) -> Plan:
    """The day's reminders, merged, filtered and scheduled.

    Args:
        customers: the (masked) customer profiles.
        feeds: the weather warnings and traffic violations.
        rules: the outreach rules.
        day: the run's day (centre time).
        already_sent: ``(customer_id, key)`` of every reminder queued before, on any day.
        opt_outs: who refused which kind (``kind`` None: every kind).
        sent_this_week: per customer, messages queued in the 7 days up to the run.
        now: when the run happens (aware); a message in the quiet hours waits for their end.
        zone: the centre's time zone.

    Returns:
        One message per customer and channel (most important first), and every candidate that
        was dropped with its reason: already sent, opted out, or over the weekly cap (the
        least important messages are dropped first).
    """
    refused = _opted_out(opt_outs)
    sent = set(already_sent)
    send_at = next_allowed(now, rules.quiet_hours, zone)
    deferred = send_at > now
    messages: list[PlannedMessage] = []
    skipped: list[Skipped] = []

    def skip(reminder: PlannedReminder, reason: SkipReason) -> None:
        skipped.append(
            Skipped(
                customer_id=reminder.customer_id,
                kind=reminder.kind,
                key=reminder.key,
                reason=reason,
            )
        )

    for customer in sorted(customers, key=lambda c: c.id):
        by_channel: dict[Channel, list[PlannedReminder]] = defaultdict(list)
        seen: set[str] = set()
        for reminder in candidates(customer, feeds, rules, day, zone):
            if reminder.key in seen:
                continue  # the same reminder twice in a feed
            seen.add(reminder.key)
            if (customer.id, reminder.key) in sent:
                skip(reminder, SkipReason.ALREADY_SENT)
            elif None in refused[customer.id] or reminder.kind in refused[customer.id]:
                skip(reminder, SkipReason.OPTED_OUT)
            else:
                by_channel[reminder.channel].append(reminder)
        drafts = [
            PlannedMessage(
                customer_id=customer.id,
                channel=channel,
                reminders=(ordered := sorted(found, key=lambda r: (-r.priority, r.key))),
                body=merge(ordered, rules, customer.salutation),
                send_at=send_at,
                deferred=deferred,
            )
            for channel, found in by_channel.items()
        ]
        drafts.sort(key=lambda m: (-m.priority, m.channel.value))
        room = max(0, rules.weekly_cap - sent_this_week.get(customer.id, 0))
        messages.extend(drafts[:room])
        for dropped in drafts[room:]:
            for reminder in dropped.reminders:
                skip(reminder, SkipReason.WEEKLY_CAP)
    return Plan(day=day, messages=messages, skipped=skipped)
