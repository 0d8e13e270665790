"""Fixed-window rate counters in the database, shared by every worker.

``hit`` counts one request against a key (a client, an API key, a conversation) in the current
window and says whether it is within the limit. The counter is one atomic upsert, so parallel
requests on several workers count exactly, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.schema import rate_counters
from db.store import SqlStore

KEEP = timedelta(days=1)  # counters older than this are dropped when a new window starts


class RateVerdict(BaseModel):
    """One request counted: allowed or not, and how long until the window resets."""

    allowed: bool
    count: int
    retry_after: int


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window ``now`` falls in (pure)."""
    seconds = window.total_seconds()
    epoch = now.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, UTC)


class RateCounters(SqlStore):
    """Counts requests per key and window."""

    def hit(
        self, key: str, limit: int, window: timedelta, now: datetime | None = None
    ) -> RateVerdict:
        """Count one request for ``key``; allowed while the window's count is at most ``limit``.

        Args:
            key: what is limited, e.g. ``client:203.0.113.5:sessions``.
            limit: requests allowed per window.
            window: the window's length.
            now: the time (tests pin it).
        """
        when = now or datetime.now(UTC)
        start = window_start(when, window)
        with self.transaction() as conn:
            count = self._increment(conn, key[:160], start)
            if count == 1:  # a new window: drop counters nobody will read again
                conn.execute(
                    delete(rate_counters).where(rate_counters.c.window_start < when - KEEP)
                )
        retry = max(1, math.ceil((start + window - when).total_seconds()))
        return RateVerdict(allowed=count <= limit, count=count, retry_after=retry)

    def _increment(self, conn: Connection, key: str, start: datetime) -> int:
        dialect = conn.dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = maker(rate_counters).values(key=key, window_start=start, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[rate_counters.c.key, rate_counters.c.window_start],
            set_={"count": rate_counters.c.count + 1},
        )
        conn.execute(statement)
        value = conn.execute(
            select(rate_counters.c.count).where(
                rate_counters.c.key == key, rate_counters.c.window_start == start
            )
        ).scalar_one()
        return int(value)
