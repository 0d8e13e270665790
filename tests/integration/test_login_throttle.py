"""Login throttling: a growing delay, then a lockout, per account and per client, all audited;
a lockout looks the same for a name that exists and one that does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from accounts.login import (
    LoginAttempts,
    LoginPolicy,
    LoginService,
    LoginThrottledError,
    throttle_wait,
)
from accounts.passwords import PasswordHashing
from accounts.store import AccountStore, AuthenticationError
from audit.log import AuditFilter, AuditLog

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RIGHT = "Right-Pass-26"
WRONG = "Wrong-Pass-26"


@pytest.fixture
def login(migrated_engine: Engine) -> LoginService:
    accounts = AccountStore(migrated_engine, PasswordHashing.fast_for_tests())
    accounts.add("sam", RIGHT, ["supervisor"])
    return LoginService(accounts, LoginAttempts(migrated_engine), AuditLog(migrated_engine))


def test_the_delay_doubles_after_the_free_failures_and_stops_growing() -> None:
    policy = LoginPolicy()
    waits = [throttle_wait(n, T0, T0, policy) for n in range(1, 12)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:8] == [2, 4, 8, 16, 32]
    assert waits[8:] == [60, 60, 60]
    assert throttle_wait(5, T0, T0 + timedelta(seconds=3), policy) == 1  # counted from the last


def _fail(login: LoginService, when: datetime, name: str = "sam", client: str = "ip:a") -> str:
    try:
        login.login(name, WRONG, client=client, now=when)
    except AuthenticationError:
        return "wrong"
    except LoginThrottledError as exc:
        return "locked" if exc.locked else "wait"
    return "in"


def _patient_failures(login: LoginService, count: int, name: str = "sam") -> datetime:
    """Fail ``count`` times, each time waiting out the delay; returns the time of the last."""
    when = T0
    for _ in range(count):
        while _fail(login, when, name) == "wait":
            when += timedelta(seconds=1)
        when += timedelta(seconds=1)
    return when


def test_ten_failures_lock_the_account_and_a_supervisor_unlocks_it(login: LoginService) -> None:
    assert [_fail(login, T0 + timedelta(seconds=i)) for i in range(5)] == [
        "wrong", "wrong", "wrong", "wrong", "wait"
    ]  # fmt: skip
    last = _patient_failures(login, 6)  # 4 above + 6 = 10 tried failures
    with pytest.raises(LoginThrottledError) as refused:
        login.login("sam", RIGHT, client="ip:a", now=last + timedelta(minutes=1))
    assert refused.value.locked and refused.value.retry_after > 60
    entries = {e.action for e in login._audit.entries(AuditFilter(target="sam"))}
    assert {"auth.login_failed", "auth.refused_delay", "auth.locked"} <= entries

    later = last + timedelta(minutes=16)  # the lockout ends by itself
    assert login.login("sam", RIGHT, client="ip:a", now=later).username == "sam"

    _patient_failures(login, 10)
    login.unlock("boss", "sam", now=later + timedelta(hours=1))
    assert login.login("sam", RIGHT, now=later + timedelta(hours=1, seconds=1)).username == "sam"


def test_a_lockout_looks_the_same_for_an_unknown_name(login: LoginService) -> None:
    known = _patient_failures(login, 10, "sam")
    unknown = _patient_failures(login, 10, "nobody")
    with pytest.raises(LoginThrottledError) as a:
        login.login("sam", WRONG, client="ip:b", now=known + timedelta(seconds=1))
    with pytest.raises(LoginThrottledError) as b:
        login.login("nobody", WRONG, client="ip:b", now=unknown + timedelta(seconds=1))
    assert str(a.value) == str(b.value) and a.value.locked and b.value.locked


def _spray(login: LoginService, failures: int, client: str = "ip:bot") -> tuple[str, datetime]:
    """One client guessing many accounts, three tries each (no account is slowed down); returns
    the outcome of the try after ``failures`` and its time."""
    when = T0
    for n in range(failures):
        assert _fail(login, when, f"user{n // 3}", client=client) == "wrong"
        when += timedelta(seconds=1)
    return _fail(login, when, f"user{failures // 3}", client=client), when


def test_one_client_guessing_many_accounts_is_slowed_down(login: LoginService) -> None:
    outcome, when = _spray(login, LoginPolicy().client_free_failures + 1)
    assert outcome == "wait"
    # another client (a colleague at another desk) is not affected
    assert login.login("sam", RIGHT, client="ip:colleague", now=when).username == "sam"


def test_one_client_guessing_many_accounts_is_locked(migrated_engine: Engine) -> None:
    accounts = AccountStore(migrated_engine, PasswordHashing.fast_for_tests())
    accounts.add("sam", RIGHT, ["supervisor"])
    policy = LoginPolicy(client_free_failures=100)  # no delay: only the client lockout
    login = LoginService(
        accounts, LoginAttempts(migrated_engine), AuditLog(migrated_engine), policy
    )
    outcome, when = _spray(login, policy.client_lock_after)
    assert outcome == "locked"
    with pytest.raises(LoginThrottledError):
        login.login("sam", RIGHT, client="ip:bot", now=when)
    assert login.login("sam", RIGHT, client="ip:colleague", now=when).username == "sam"
