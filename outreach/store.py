"""The outreach tables: the outbox, the reminders each message carries, and opt-outs.

A reminder's key is unique per customer and day (a database constraint): two runs of the same
day, even at once, queue it once. A message and its reminders are written in one transaction, so
the run that loses the race writes neither.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import PolicyDeskError
from db.schema import outreach_messages as m
from db.schema import outreach_opt_outs as o
from db.schema import outreach_reminders as r
from db.store import SqlStore
from outreach.models import (
    MessageStatus,
    OptOut,
    OutboxMessage,
    PlannedMessage,
    ProactiveCounts,
    ReminderKind,
    SentReminder,
)

ALL_KINDS = "*"
"""The opt-out row's kind when a customer refuses every reminder."""


class OutboxMessageNotFoundError(PolicyDeskError):
    """No outbox message with that id."""


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage.model_validate(row._mapping)


class OutreachStore(SqlStore):
    """Reads and writes the outbox, the reminders and the opt-outs."""

    # ----- planning inputs ----------------------------------------------------------------

    def already_sent(self) -> set[tuple[str, str]]:
        """``(customer_id, key)`` of every reminder queued so far, on any day."""
        with self.reading() as conn:
            return {
                (row.customer_id, row.key) for row in conn.execute(select(r.c.customer_id, r.c.key))
            }

    def opt_outs(self) -> list[OptOut]:
        """Every customer's opt-outs."""
        with self.reading() as conn:
            rows = conn.execute(select(o.c.customer_id, o.c.kind)).all()
        return [
            OptOut(customer_id=row.customer_id, kind=None if row.kind == ALL_KINDS else row.kind)
            for row in rows
        ]

    def add_opt_out(self, customer_id: str, kind: ReminderKind | None, at: datetime) -> bool:
        """Record an opt-out; False when it was recorded before (idempotent)."""
        try:
            with self.transaction() as conn:
                conn.execute(
                    insert(o).values(
                        customer_id=customer_id, kind=kind.value if kind else ALL_KINDS, at=at
                    )
                )
        except IntegrityError:
            return False
        return True

    def week_counts(self, day: date) -> dict[str, int]:
        """Per customer, messages queued or sent in the 7 days ending ``day`` (failed ones did not
        reach the customer and do not count)."""
        with self.reading() as conn:
            rows = conn.execute(
                select(m.c.customer_id, func.count())
                .where(
                    m.c.day > day - timedelta(days=7),
                    m.c.day <= day,
                    m.c.status != MessageStatus.FAILED.value,
                )
                .group_by(m.c.customer_id)
            ).all()
        return {row[0]: int(row[1]) for row in rows}

    # ----- queueing -----------------------------------------------------------------------

    def queue(
        self, message: PlannedMessage, destination: str, day: date, now: datetime, note: str = ""
    ) -> int | None:
        """Put one message and its reminders in the outbox, in one transaction.

        Args:
            message: the planned message.
            destination: the masked phone it goes to.
            day: the run's day.
            now: the time queued.
            note: why it waits (e.g. the quiet hours), shown in the outbox.

        Returns:
            The message id, or None when one of its reminders was queued for this day already
            (a parallel run got there first; nothing is written).
        """
        try:
            with self.transaction() as conn:
                inserted = conn.execute(
                    insert(m).values(
                        customer_id=message.customer_id,
                        channel=message.channel.value,
                        destination=destination,
                        body=message.body,
                        reminder_keys=[x.key for x in message.reminders],
                        kinds=sorted({x.kind.value for x in message.reminders}),
                        day=day,
                        status=MessageStatus.QUEUED.value,
                        attempts=0,
                        next_attempt_at=message.send_at,
                        last_error=note,
                        created_at=now,
                    )
                ).inserted_primary_key
                assert inserted is not None
                message_id = inserted[0]
                conn.execute(
                    insert(r),
                    [
                        {
                            "customer_id": message.customer_id,
                            "key": x.key,
                            "kind": x.kind.value,
                            "day": day,
                            "message_id": message_id,
                            "created_at": now,
                        }
                        for x in message.reminders
                    ],
                )
        except IntegrityError:
            return None
        return int(message_id)

    # ----- delivery -----------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 500) -> list[OutboxMessage]:
        """Queued messages whose next attempt is due, oldest first."""
        with self.reading() as conn:
            rows = conn.execute(
                select(m)
                .where(m.c.status == MessageStatus.QUEUED.value, m.c.next_attempt_at <= now)
                .order_by(m.c.next_attempt_at, m.c.id)
                .limit(limit)
            ).all()
        return [_message(row) for row in rows]

    def _update(self, message: OutboxMessage, **values: Any) -> bool:
        # only while nobody else moved it on (a parallel delivery pass): attempts is the version
        with self.transaction() as conn:
            done = conn.execute(
                update(m)
                .where(
                    m.c.id == message.id,
                    m.c.status == MessageStatus.QUEUED.value,
                    m.c.attempts == message.attempts,
                )
                .values(**values)
            )
        return bool(done.rowcount)

    def mark_sent(self, message: OutboxMessage, at: datetime) -> bool:
        """The webhook accepted the message."""
        return self._update(
            message,
            status=MessageStatus.SENT.value,
            attempts=message.attempts + 1,
            sent_at=at,
            next_attempt_at=None,
            last_error="",
        )

    def mark_retry(self, message: OutboxMessage, next_at: datetime, error: str) -> bool:
        """An attempt failed; another is due at ``next_at``."""
        return self._update(
            message, attempts=message.attempts + 1, next_attempt_at=next_at, last_error=error
        )

    def mark_failed(self, message: OutboxMessage, error: str) -> bool:
        """The last attempt failed: the message is failed for good, with its error."""
        return self._update(
            message,
            status=MessageStatus.FAILED.value,
            attempts=message.attempts + 1,
            next_attempt_at=None,
            last_error=error,
        )

    def mark_waiting(self, message: OutboxMessage, reason: str) -> bool:
        """Not attempted (no channel configured): stays queued, with the reason shown."""
        if message.last_error == reason:
            return True
        with self.transaction() as conn:
            done = conn.execute(
                update(m)
                .where(m.c.id == message.id, m.c.status == MessageStatus.QUEUED.value)
                .values(last_error=reason)
            )
        return bool(done.rowcount)

    # ----- views --------------------------------------------------------------------------

    def messages(
        self,
        status: MessageStatus | None = None,
        customer_id: str | None = None,
        limit: int = 200,
    ) -> list[OutboxMessage]:
        """Outbox messages, newest first."""
        query = select(m).order_by(m.c.created_at.desc(), m.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(m.c.status == status.value)
        if customer_id is not None:
            query = query.where(m.c.customer_id == customer_id)
        with self.reading() as conn:
            return [_message(row) for row in conn.execute(query)]

    def message(self, message_id: int) -> OutboxMessage:
        """One outbox message.

        Raises:
            OutboxMessageNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(m).where(m.c.id == message_id)).first()
        if row is None:
            raise OutboxMessageNotFoundError(f"no outbox message #{message_id}")
        return _message(row)

    def last_reminder(self, customer_id: str) -> SentReminder | None:
        """The customer's latest reminder that was sent (or is queued to be), with its message."""
        with self.reading() as conn:
            row = conn.execute(
                select(r.c.key, r.c.kind, r.c.day, r.c.created_at, m.c.id, m.c.status, m.c.body)
                .join(m, m.c.id == r.c.message_id)
                .where(r.c.customer_id == customer_id, m.c.status != MessageStatus.FAILED.value)
                .order_by(r.c.created_at.desc(), r.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return SentReminder(
            key=row.key,
            kind=ReminderKind(row.kind),
            day=row.day,
            queued_at=row.created_at,
            message_id=row.id,
            status=MessageStatus(row.status),
            body=row.body,
        )

    def counts(self, start: date, end: date) -> ProactiveCounts:
        """Messages and reminders queued between two days (inclusive), by status and kind."""
        with self.reading() as conn:
            statuses = Counter(
                {
                    row[0]: int(row[1])
                    for row in conn.execute(
                        select(m.c.status, func.count())
                        .where(m.c.day >= start, m.c.day <= end)
                        .group_by(m.c.status)
                    )
                }
            )
            kinds = {
                row[0]: int(row[1])
                for row in conn.execute(
                    select(r.c.kind, func.count())
                    .where(and_(r.c.day >= start, r.c.day <= end))
                    .group_by(r.c.kind)
                )
            }
        return ProactiveCounts(
            start=start,
            end=end,
            messages=sum(statuses.values()),
            sent=statuses[MessageStatus.SENT.value],
            failed=statuses[MessageStatus.FAILED.value],
            queued=statuses[MessageStatus.QUEUED.value],
            reminders_by_kind=dict(sorted(kinds.items())),
        )
