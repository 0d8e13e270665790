"""Logging in, throttled: a growing delay after failures, then a lockout, per account and per
client; every failure, delay and lockout audited.

The policy (``LoginPolicy``) and the decision (``throttle_wait``) are pure; ``LoginAttempts``
keeps the attempts in the database, so every worker and the console share the counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select

from accounts.models import User
from accounts.store import AccountStore, AuthenticationError, normalise_username
from audit.log import AuditLog
from core.errors import PolicyDeskError
from db.schema import login_attempts
from db.store import SqlStore

UNKNOWN_CLIENT = "unknown"


class LoginPolicy(BaseModel):
    """How hard repeated failures are slowed down."""

    free_failures: int = Field(default=3, ge=0, description="failures before any delay")
    base_delay: float = Field(default=2.0, gt=0, description="seconds after the first slow one")
    max_delay: float = Field(default=60.0, gt=0, description="the delay stops growing here")
    lock_after: int = Field(default=10, ge=1, description="failures in the window that lock")
    client_free_failures: int = Field(
        default=10,
        ge=0,
        description="failures from one client before it is slowed down (a whole office may "
        "share one address)",
    )
    client_lock_after: int = Field(
        default=30, ge=1, description="failures from one client in the window that lock it"
    )
    window: timedelta = Field(default=timedelta(minutes=15))
    lock_for: timedelta = Field(default=timedelta(minutes=15))


class LoginThrottledError(PolicyDeskError):
    """Too many failed logins: wait, or the account (or client) is locked for a while."""

    def __init__(self, retry_after: int, locked: bool) -> None:
        if locked:
            message = (
                "too many failed logins: login is locked for "
                f"{max(1, retry_after // 60)} minutes (a supervisor can unlock the account)"
            )
        else:
            message = f"too many failed logins: wait {retry_after} seconds and try again"
        super().__init__(message)
        self.retry_after = retry_after
        self.locked = locked


def throttle_wait(
    failures: int,
    last_failure: datetime | None,
    now: datetime,
    policy: LoginPolicy,
    free: int | None = None,
) -> float:
    """Seconds until the next attempt is allowed after ``failures`` consecutive failures (pure).

    The first ``free`` failures (default ``policy.free_failures``) cost nothing; then each
    failure doubles the delay, from ``base_delay`` up to ``max_delay``, counted from the last
    failure.
    """
    allowance = policy.free_failures if free is None else free
    if last_failure is None or failures <= allowance:
        return 0.0
    delay = min(policy.max_delay, policy.base_delay * 2 ** (failures - allowance - 1))
    return max(0.0, delay - (now - last_failure).total_seconds())


class LoginAttempts(SqlStore):
    """Login attempts per account and per client."""

    def record(self, username: str, client: str, success: bool, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                insert(login_attempts).values(
                    at=now, username=username[:64], client=client[:64], success=success
                )
            )

    def failures_since_success(self, username: str, since: datetime) -> tuple[int, datetime | None]:
        """Failures of an account after its last success (within ``since``), and the latest."""
        with self.reading() as conn:
            last_ok = conn.execute(
                select(func.max(login_attempts.c.at)).where(
                    login_attempts.c.username == username, login_attempts.c.success.is_(True)
                )
            ).scalar()
            start = max(since, last_ok) if last_ok is not None else since
            count, latest = conn.execute(
                select(func.count(), func.max(login_attempts.c.at)).where(
                    login_attempts.c.username == username,
                    login_attempts.c.success.is_(False),
                    login_attempts.c.at > start,
                )
            ).one()
        return int(count), latest

    def client_failures(self, client: str, since: datetime) -> tuple[int, datetime | None]:
        """Failures from one client (any account) since a time, and the latest."""
        with self.reading() as conn:
            count, latest = conn.execute(
                select(func.count(), func.max(login_attempts.c.at)).where(
                    login_attempts.c.client == client,
                    login_attempts.c.success.is_(False),
                    login_attempts.c.at > since,
                )
            ).one()
        return int(count), latest

    def reset(self, username: str, actor: str, now: datetime) -> None:
        """Start the account's count afresh (a supervisor's unlock), recorded as an attempt."""
        self.record(username, f"unlock:{actor}", True, now)


class LoginService:
    """Authenticates with throttling and auditing; the console and the API's token endpoint both
    log in here.

    Args:
        accounts: the account store (Argon2 hashes).
        attempts: the attempt log.
        audit: where failures, delays and lockouts are recorded.
        policy: the throttling policy.
    """

    def __init__(
        self,
        accounts: AccountStore,
        attempts: LoginAttempts,
        audit: AuditLog,
        policy: LoginPolicy | None = None,
    ) -> None:
        self._accounts = accounts
        self._attempts = attempts
        self._audit = audit
        self.policy = policy or LoginPolicy()

    def login(
        self,
        username: str,
        password: str,
        client: str = UNKNOWN_CLIENT,
        now: datetime | None = None,
    ) -> User:
        """The account, when the password is right and neither it nor the client is throttled.

        Raises:
            LoginThrottledError: wait (``retry_after`` seconds) or locked; checked before the
                password, so a throttled guess is not even tried.
            AuthenticationError: unknown user, wrong password or deactivated account.
        """
        when = now or datetime.now(UTC)
        name = normalise_username(username)[:64]
        client = (client or UNKNOWN_CLIENT)[:64]
        self._refuse_if_throttled(name, client, when)
        try:
            user = self._accounts.authenticate(name, password)
        except AuthenticationError:
            self._attempts.record(name, client, False, when)
            self._after_failure(name, client, when)
            raise
        self._attempts.record(name, client, True, when)
        return user

    def unlock(self, actor: str, username: str, now: datetime | None = None) -> None:
        """Lift an account's lockout and delay (a supervisor's action, audited)."""
        name = normalise_username(username)
        self._attempts.reset(name, actor, now or datetime.now(UTC))
        self._audit.record(actor, "auth.unlock", name)

    def _refuse_if_throttled(self, name: str, client: str, now: datetime) -> None:
        # the same for a name that exists and one that does not: a lockout tells nothing
        policy = self.policy
        failures, last = self._attempts.failures_since_success(name, now - policy.window)
        client_failures, client_last = self._attempts.client_failures(client, now - policy.window)
        for count, latest, limit, what in (
            (failures, last, policy.lock_after, "auth.refused_locked"),
            (client_failures, client_last, policy.client_lock_after, "auth.refused_client_locked"),
        ):
            if count >= limit and latest is not None and latest + policy.lock_for > now:
                self._audit.record(name, what, name, f"client {client}")
                raise LoginThrottledError(_seconds(latest + policy.lock_for - now), locked=True)
        wait_s = max(
            throttle_wait(failures, last, now, policy),
            throttle_wait(
                client_failures, client_last, now, policy, free=policy.client_free_failures
            ),
        )
        if wait_s > 0:
            self._audit.record(name, "auth.refused_delay", name, f"client {client}")
            raise LoginThrottledError(max(1, round(wait_s)), locked=False)

    def _after_failure(self, name: str, client: str, now: datetime) -> None:
        failures, _ = self._attempts.failures_since_success(name, now - self.policy.window)
        detail = f"client {client}; failure {failures} in {_minutes(self.policy.window)} min"
        self._audit.record(name, "auth.login_failed", name, detail)
        if failures == self.policy.lock_after:
            self._audit.record(name, "auth.locked", name, detail)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
