"""Identity-check lockout: repeated wrong answers for a policy or claim number, across sessions,
and from one client, stop the check.

The number itself is never stored: failures are keyed by an HMAC of it with the installation's
secret (policy numbers are sequential, so a plain hash would be reversed by counting).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, Engine, delete, func, insert, select

from db.schema import identity_failures
from db.store import SqlStore

NUMBER_LIMIT = 5
"""Failed checks for one policy or claim number in the window that lock it."""
CLIENT_LIMIT = 10
"""Failed checks from one client (any number) in the window that lock it."""
WINDOW = timedelta(hours=24)


class LockReason(StrEnum):
    """Why the identity check is locked."""

    NUMBER = "number"
    CLIENT = "client"


class IdentityLockout(SqlStore):
    """Counts failed identity checks and says when the check is locked.

    Args:
        engine: the shared engine.
        secret: the installation's secret (keys the HMAC of the numbers).
    """

    def __init__(self, engine: Engine, secret: bytes) -> None:
        super().__init__(engine)
        self._secret = secret

    def subject(self, number: str) -> str:
        """What is stored for a policy or claim number: an HMAC, never the number."""
        normal = number.strip().upper().encode("utf-8")
        return hmac.new(self._secret, b"identity:" + normal, hashlib.sha256).hexdigest()

    def locked(self, number: str, client: str, now: datetime | None = None) -> LockReason | None:
        """Whether the check is locked for this number or this client, and why."""
        since = (now or datetime.now(UTC)) - WINDOW
        with self.reading() as conn:
            return self._reason(conn, self.subject(number), client[:64], since, None)

    def reserve(
        self, number: str, client: str, session_id: str, now: datetime | None = None
    ) -> tuple[LockReason | None, int | None]:
        """Count a check as failed before it is tried, unless the check is locked already.

        The count and the row are one transaction, serialised per number and per client, so
        parallel guesses from several sessions and workers try no more than the limit allows.

        Returns:
            (why it is locked, None): do not try it; nothing is recorded. Or (None, the
            reservation): try it, and call ``passed`` with the reservation when it was right.
        """
        when = now or datetime.now(UTC)
        subject, client = self.subject(number), client[:64]
        with self.transaction() as conn:
            self.serialise(conn, f"identity:subject:{subject}", f"identity:client:{client}")
            attempt = conn.execute(
                insert(identity_failures)
                .values(at=when, subject=subject, client=client, session_id=session_id[:40])
                .returning(identity_failures.c.id)
            ).scalar_one()
            reason = self._reason(conn, subject, client, when - WINDOW, attempt)
            if reason is None:
                return None, int(attempt)
            conn.execute(delete(identity_failures).where(identity_failures.c.id == attempt))
        return reason, None

    def passed(self, reservation: int) -> None:
        """The reserved check was right: it is no failure."""
        with self.transaction() as conn:
            conn.execute(delete(identity_failures).where(identity_failures.c.id == reservation))

    @staticmethod
    def _reason(
        conn: Connection, subject: str, client: str, since: datetime, leave_out: int | None
    ) -> LockReason | None:
        recent = identity_failures.c.at > since
        if leave_out is not None:
            recent = recent & (identity_failures.c.id != leave_out)
        by_number = conn.execute(
            select(func.count()).where(identity_failures.c.subject == subject, recent)
        ).scalar_one()
        if by_number >= NUMBER_LIMIT:
            return LockReason.NUMBER
        by_client = conn.execute(
            select(func.count()).where(identity_failures.c.client == client, recent)
        ).scalar_one()
        if by_client >= CLIENT_LIMIT:
            return LockReason.CLIENT
        return None
