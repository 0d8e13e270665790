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

from sqlalchemy import Engine, func, insert, select

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
            by_number = conn.execute(
                select(func.count()).where(
                    identity_failures.c.subject == self.subject(number),
                    identity_failures.c.at > since,
                )
            ).scalar_one()
            by_client = conn.execute(
                select(func.count()).where(
                    identity_failures.c.client == client[:64], identity_failures.c.at > since
                )
            ).scalar_one()
        if by_number >= NUMBER_LIMIT:
            return LockReason.NUMBER
        if by_client >= CLIENT_LIMIT:
            return LockReason.CLIENT
        return None

    def record_failure(
        self, number: str, client: str, session_id: str, now: datetime | None = None
    ) -> None:
        """Count one failed check."""
        with self.transaction() as conn:
            conn.execute(
                insert(identity_failures).values(
                    at=now or datetime.now(UTC),
                    subject=self.subject(number),
                    client=client[:64],
                    session_id=session_id[:40],
                )
            )
