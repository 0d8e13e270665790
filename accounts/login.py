"""Logging in, throttled: a growing delay after failures, then a lockout, per account and per
client; every failure, delay and lockout audited.

The policy (``LoginPolicy``) and the decisions (``throttle_wait``, ``refusal``) are pure;
``LoginAttempts`` keeps the attempts in the database, so every worker and the console share the
counts, and reserves each attempt before its password is tried, so parallel guesses count exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import Connection, delete, func, insert, select, update

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


class Standing(BaseModel):
    """What the attempt log says about an account and a client before one more attempt."""

    failures: int = Field(
        description="the account's failures since its last success, in the window"
    )
    last_failure: datetime | None
    client_failures: int = Field(description="the client's failures (any account), in the window")
    client_last_failure: datetime | None


def refusal(standing: Standing, now: datetime, policy: LoginPolicy) -> tuple[str, int, bool] | None:
    """Whether an attempt is refused before its password is tried (pure).

    Returns:
        None to try the password; else (the audit action, seconds to wait, locked).
    """
    for count, latest, limit, what in (
        (standing.failures, standing.last_failure, policy.lock_after, "auth.refused_locked"),
        (
            standing.client_failures,
            standing.client_last_failure,
            policy.client_lock_after,
            "auth.refused_client_locked",
        ),
    ):
        if count >= limit and latest is not None and latest + policy.lock_for > now:
            return what, _seconds(latest + policy.lock_for - now), True
    wait_s = max(
        throttle_wait(standing.failures, standing.last_failure, now, policy),
        throttle_wait(
            standing.client_failures,
            standing.client_last_failure,
            now,
            policy,
            free=policy.client_free_failures,
        ),
    )
    if wait_s > 0:
        return "auth.refused_delay", max(1, round(wait_s)), False
    return None


class LoginAttempts(SqlStore):
    """Login attempts per account and per client.

    An attempt is reserved before its password is tried: the check of the counts and the row
    that records the attempt (as a failure until the password proves right) are one transaction,
    serialised per account and per client, so parallel guesses on several workers count exactly
    and no more guesses are tried than the policy allows.
    """

    def record(self, username: str, client: str, success: bool, now: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                insert(login_attempts).values(
                    at=now, username=username[:64], client=client[:64], success=success
                )
            )

    def reserve(
        self,
        username: str,
        client: str,
        now: datetime,
        since: datetime,
        admit: Callable[[Standing], bool],
    ) -> tuple[Standing, int | None]:
        """Count an attempt as a failure, provided ``admit`` allows it given the standing before it.

        Args:
            username: the (normalised) account name.
            client: the client address.
            now: the attempt's time.
            since: the start of the counting window.
            admit: decides from the standing before this attempt whether it may go ahead.

        Returns:
            The standing before this attempt, and the id of its row (None when not admitted:
            nothing is recorded).
        """
        with self.transaction() as conn:
            # the same account or client waits here; the insert comes before any count (SQLite)
            self.serialise(conn, f"login:user:{username}", f"login:client:{client}")
            attempt = conn.execute(
                insert(login_attempts)
                .values(at=now, username=username, client=client, success=False)
                .returning(login_attempts.c.id)
            ).scalar_one()
            standing = self._standing(conn, username, client, since, attempt)
            if admit(standing):
                return standing, int(attempt)
            conn.execute(delete(login_attempts).where(login_attempts.c.id == attempt))
        return standing, None

    def succeeded(self, attempt: int) -> None:
        """The reserved attempt's password was right."""
        with self.transaction() as conn:
            conn.execute(
                update(login_attempts).where(login_attempts.c.id == attempt).values(success=True)
            )

    @staticmethod
    def _standing(
        conn: Connection, username: str, client: str, since: datetime, attempt: int
    ) -> Standing:
        last_ok = conn.execute(
            select(func.max(login_attempts.c.at)).where(
                login_attempts.c.username == username, login_attempts.c.success.is_(True)
            )
        ).scalar()
        start = max(since, last_ok) if last_ok is not None else since
        failed = login_attempts.c.success.is_(False) & (login_attempts.c.id != attempt)
        count, latest = conn.execute(
            select(func.count(), func.max(login_attempts.c.at)).where(
                login_attempts.c.username == username, failed, login_attempts.c.at > start
            )
        ).one()
        client_count, client_latest = conn.execute(
            select(func.count(), func.max(login_attempts.c.at)).where(
                login_attempts.c.client == client, failed, login_attempts.c.at > since
            )
        ).one()
        return Standing(
            failures=int(count),
            last_failure=latest,
            client_failures=int(client_count),
            client_last_failure=client_latest,
        )

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
        policy = self.policy
        refused: list[tuple[str, int, bool]] = []

        def admit(standing: Standing) -> bool:
            verdict = refusal(standing, when, policy)
            refused.extend([verdict] if verdict else [])
            return verdict is None

        # the same for a name that exists and one that does not: a lockout tells nothing
        standing, attempt = self._attempts.reserve(name, client, when, when - policy.window, admit)
        if attempt is None:
            what, retry_after, locked = refused[0]
            self._audit.record(name, what, name, f"client {client}")
            raise LoginThrottledError(retry_after, locked=locked)
        try:
            user = self._accounts.authenticate(name, password)
        except AuthenticationError:
            failures = standing.failures + 1  # this one is counted already
            detail = f"client {client}; failure {failures} in {_minutes(policy.window)} min"
            self._audit.record(name, "auth.login_failed", name, detail)
            if failures == policy.lock_after:
                self._audit.record(name, "auth.locked", name, detail)
            raise
        self._attempts.succeeded(attempt)
        return user

    def unlock(self, actor: str, username: str, now: datetime | None = None) -> None:
        """Lift an account's lockout and delay (a supervisor's action, audited)."""
        name = normalise_username(username)
        self._attempts.reset(name, actor, now or datetime.now(UTC))
        self._audit.record(actor, "auth.unlock", name)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
