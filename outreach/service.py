"""``ReminderService``: the scheduled job (plan, queue, deliver), the outbox views, opt-outs,
and the figures the KPIs and the chatbot read.

Failure is never silent: a message whose webhook keeps failing is retried with exponential
back-off, then marked ``failed`` with its error, logged, audited, counted in the run report and
listed by ``policydesk reminders outbox --status failed``. A message with no channel configured
stays ``queued`` with the reason in its ``last_error``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from audit.log import AuditLog
from core.masking import redact
from customers.models import CustomerProfile, RevealableField
from customers.store import CustomerNotFoundError, CustomerStore
from outreach.channels import ChannelAdapter, DeliveryError
from outreach.models import (
    Channel,
    DeliveryReport,
    Feeds,
    MessageStatus,
    OutboxMessage,
    ProactiveCounts,
    ReminderKind,
    Rules,
    RunReport,
    SentReminder,
    SkipReason,
)
from outreach.planning import next_allowed, plan
from outreach.store import OutreachStore

log = logging.getLogger(__name__)

ACTOR = "system"
"""Who the audit log names for the job's own actions."""

_SETTING = {
    Channel.SMS: "POLICYDESK_SMS_WEBHOOK_URL",
    Channel.WECHAT: "POLICYDESK_WECHAT_WEBHOOK_URL",
}


def not_configured(channel: Channel) -> str:
    """The reason a message waits when its channel has no webhook."""
    return f"no {channel.value} channel configured (set {_SETTING[channel]}); not attempted"


QUIET = "quiet hours: waits for their end"


class ReminderService:
    """The 车主秘书 job and its views.

    Args:
        store: the outreach tables.
        customers: the customer records (profiles; the full phone at send time only).
        audit: where opt-outs, runs and failed messages are recorded.
        rules: the outreach rules.
        feeds: reads the weather and violation feeds (called once per run).
        adapters: the configured channels; a channel without one keeps its messages queued.
        zone: the centre's time zone (days, quiet hours).
        max_attempts: attempts before a message is failed for good.
        retry_seconds: the first back-off; each further attempt waits twice as long.
    """

    def __init__(
        self,
        store: OutreachStore,
        customers: CustomerStore,
        audit: AuditLog,
        rules: Rules,
        feeds: Callable[[], Feeds],
        adapters: Mapping[Channel, ChannelAdapter],
        zone: ZoneInfo,
        max_attempts: int = 5,
        retry_seconds: int = 60,
    ) -> None:
        if max_attempts < 1 or retry_seconds < 1:
            raise ValueError(
                f"max_attempts and retry_seconds must be >= 1, got {max_attempts}, {retry_seconds}"
            )
        self._store = store
        self._customers = customers
        self._audit = audit
        self.rules = rules
        self._feeds = feeds
        self._adapters = dict(adapters)
        self.zone = zone
        self._max_attempts = max_attempts
        self._retry = timedelta(seconds=retry_seconds)

    def today(self, now: datetime) -> date:
        """The centre's day at a moment."""
        return now.astimezone(self.zone).date()

    def _profiles(self, page: int = 200) -> Iterator[CustomerProfile]:
        offset = 0
        while summaries := self._customers.list(limit=page, offset=offset):
            for summary in summaries:
                yield self._customers.profile(summary.id)
            offset += page

    # ----- the job ------------------------------------------------------------------------

    def run(self, day: date, now: datetime, feeds: Feeds | None = None) -> RunReport:
        """Plan the day's reminders, queue them, and deliver what is due.

        Idempotent per reminder and day: a second run of the same day queues nothing again
        (each reminder's key is recorded, and unique per customer and day).

        Args:
            day: the day planned for (centre time).
            now: the time of the run (aware): quiet hours, queue and delivery times.
            feeds: the feeds' records (read from the configured sources by default).

        Returns:
            What was planned, queued, merged, deferred, skipped (by reason), and delivered.

        Raises:
            FeedError: a feed cannot be read or holds an invalid record.
        """
        feeds = feeds if feeds is not None else self._feeds()
        profiles = list(self._profiles())
        phones = {p.id: p.phone for p in profiles}
        the_plan = plan(
            profiles,
            feeds,
            self.rules,
            day,
            self._store.already_sent(),
            self._store.opt_outs(),
            self._store.week_counts(day),
            now,
            self.zone,
        )
        skipped = Counter(s.reason.value for s in the_plan.skipped)
        queued = merged = deferred = 0
        by_kind: Counter[str] = Counter()
        for message in the_plan.messages:
            note = QUIET if message.deferred else ""
            if self._store.queue(message, phones[message.customer_id], day, now, note) is None:
                # a parallel run of the same day queued it first
                skipped[SkipReason.ALREADY_SENT.value] += len(message.reminders)
                continue
            queued += 1
            deferred += message.deferred
            merged += len(message.reminders) if len(message.reminders) > 1 else 0
            by_kind.update(r.kind.value for r in message.reminders)
        planned = sum(by_kind.values())
        candidates = len(the_plan.reminders) + len(the_plan.skipped)
        delivery = self.deliver(now)
        report = RunReport(
            day=day,
            candidates=candidates,
            planned=planned,
            queued=queued,
            merged=merged,
            deferred=deferred,
            skipped=dict(sorted(skipped.items())),
            by_kind=dict(sorted(by_kind.items())),
            delivery=delivery,
        )
        summary = (
            f"day {day}: {queued} messages queued ({planned} reminders {dict(by_kind)}), "
            f"skipped {dict(skipped)}; sent {delivery.sent}, retrying {delivery.retrying}, "
            f"failed {delivery.failed}"
        )
        log.info("reminders run: %s", summary)
        self._audit.record(ACTOR, "outreach.run", str(day), summary, at=now)
        return report

    def deliver(self, now: datetime) -> DeliveryReport:
        """Attempt every queued message that is due (not in the quiet hours).

        A failed attempt is retried after ``retry_seconds × 2^(attempts-1)`` (moved out of the
        quiet hours); after ``max_attempts`` the message is failed for good, logged and audited.

        Returns:
            Sent, retrying and failed counts; messages not attempted, by reason; the failures.
        """
        report = DeliveryReport()
        waiting: Counter[str] = Counter()
        due = self._store.due(now)
        if due and self.rules.quiet_hours.contains(now.astimezone(self.zone).time()):
            report.waiting = {QUIET: len(due)}
            return report
        for message in due:
            adapter = self._adapters.get(message.channel)
            if adapter is None:
                reason = not_configured(message.channel)
                self._store.mark_waiting(message, reason)
                waiting[reason] += 1
                continue
            try:
                adapter.send(message, self._phone(message))
            except DeliveryError as exc:
                self._failed_attempt(message, redact(str(exc)), now, report)
                continue
            if self._store.mark_sent(message, now):
                report.sent += 1
        report.waiting = dict(waiting)
        return report

    def _phone(self, message: OutboxMessage) -> str:
        # the full number only now, only for the adapter; the masked one when none is on record
        try:
            return self._customers.identifier(message.customer_id, RevealableField.PHONE)
        except CustomerNotFoundError:
            return message.destination

    def _failed_attempt(
        self, message: OutboxMessage, error: str, now: datetime, report: DeliveryReport
    ) -> None:
        attempt = message.attempts + 1
        if attempt >= self._max_attempts:
            if self._store.mark_failed(message, error):
                report.failed += 1
                report.failures.append(self._store.message(message.id))
                log.error(
                    "outbox message #%d (%s, customer %s) failed after %d attempts: %s",
                    message.id,
                    message.channel.value,
                    message.customer_id,
                    attempt,
                    error,
                )
                self._audit.record(
                    ACTOR,
                    "outreach.failed",
                    message.customer_id,
                    f"message #{message.id} by {message.channel.value} failed after {attempt} "
                    f"attempts: {error}",
                    at=now,
                )
            return
        next_at = next_allowed(
            now + self._retry * 2 ** (attempt - 1), self.rules.quiet_hours, self.zone
        )
        if self._store.mark_retry(message, next_at, error):
            report.retrying += 1
            log.warning(
                "outbox message #%d (%s) attempt %d failed, retry at %s: %s",
                message.id,
                message.channel.value,
                attempt,
                next_at.isoformat(),
                error,
            )

    # ----- views and requests -------------------------------------------------------------

    def outbox(self, status: MessageStatus | None = None, limit: int = 200) -> list[OutboxMessage]:
        """Outbox messages, newest first (optionally of one status)."""
        return self._store.messages(status=status, limit=limit)

    def sent_to(self, customer_id: str, limit: int = 50) -> list[OutboxMessage]:
        """What the customer was sent (or has queued, or failed), newest first: the profile's
        list of proactive messages."""
        return self._store.messages(customer_id=customer_id, limit=limit)

    def last_reminder(self, customer_id: str) -> SentReminder | None:
        """The customer's latest reminder not failed: context for a reply such as "续保"."""
        return self._store.last_reminder(customer_id)

    def opt_out(
        self, customer_id: str, kind: ReminderKind | None, now: datetime, actor: str = ACTOR
    ) -> bool:
        """Record that a customer wants no reminders of a kind (or none at all).

        Returns:
            False when the same opt-out was recorded before.

        Raises:
            CustomerNotFoundError: unknown customer.
        """
        self._customers.profile(customer_id)  # refuses an unknown id
        added = self._store.add_opt_out(customer_id, kind, now)
        if added:
            self._audit.record(
                actor, "outreach.opt_out", customer_id, kind.value if kind else "all", at=now
            )
        return added

    def proactive_counts(self, start: date, end: date) -> ProactiveCounts:
        """Proactive contacts between two days (inclusive), for the KPIs."""
        return self._store.counts(start, end)
