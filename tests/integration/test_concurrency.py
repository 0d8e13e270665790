"""Parallel clients on one database: what two workers may do at the same moment.

Each test starts its clients together on a barrier, each on its own connection (threads over the
store's pooled engine; the API runs several such workers). They run on SQLite by default and on
PostgreSQL under ``make test-engines``, where the transactions really do overlap.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select

from accounts.login import LoginAttempts, LoginPolicy, LoginService, LoginThrottledError
from accounts.passwords import PasswordHashing
from accounts.store import AccountStore, AuthenticationError
from audit.log import AuditFilter, AuditLog
from calls.models import NewCall, NewSegment
from chatbot.lockout import NUMBER_LIMIT, IdentityLockout, LockReason
from conversation.models import Speaker
from customers.demo import generate
from db.ratelimit import RateCounters
from db.schema import call_segments, identity_failures, login_attempts
from services.root import Services
from studio.items import ItemKind
from studio.repository import ConcurrentChangeError, KnowledgeRepository
from studio.service import StudioService
from tests.conftest import with_private_database
from tests.integration.test_studio import PILE_V1

pytestmark = pytest.mark.integration

CLIENTS = 8
T = TypeVar("T")


def in_parallel(clients: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``work(i)`` for each client on its own thread, all released at once; what each
    returned or raised, in client order."""
    barrier = threading.Barrier(clients)
    outcomes: list[T | BaseException] = [RuntimeError("did not run")] * clients

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = work(i)
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def kinds(outcomes: Sequence[object]) -> Counter[str]:
    """How many outcomes were of each type (``ok`` for a value)."""
    return Counter(type(o).__name__ if isinstance(o, BaseException) else "ok" for o in outcomes)


@pytest.fixture
def engine(fake_services: Services) -> Engine:
    return fake_services.engine


def test_parallel_hits_on_one_rate_counter_count_exactly(engine: Engine) -> None:
    counters = RateCounters(engine)
    now = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)
    hits = 3 * CLIENTS
    limit = CLIENTS + 3

    outcomes = in_parallel(
        hits,
        lambda _: counters.hit("client:203.0.113.9:messages", limit, timedelta(minutes=1), now),
    )
    verdicts = [o for o in outcomes if not isinstance(o, BaseException)]
    assert kinds(outcomes) == {"ok": hits}, outcomes
    assert sorted(v.count for v in verdicts) == list(range(1, hits + 1))  # each counted once
    assert sum(v.allowed for v in verdicts) == limit


def test_parallel_failed_logins_lock_exactly_at_the_limit(engine: Engine) -> None:
    accounts = AccountStore(engine, PasswordHashing.fast_for_tests())
    accounts.add("sam", "Right-Pass-26", ["supervisor"])
    audit = AuditLog(engine)
    # no delays before the lock: every guess of a burst races for the last allowed failures
    policy = LoginPolicy(free_failures=100, lock_after=5, client_free_failures=100)
    login = LoginService(accounts, LoginAttempts(engine), audit, policy)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    outcomes = in_parallel(
        4 * CLIENTS, lambda i: login.login("sam", "Wrong-Pass-26", client=f"ip:{i}", now=now)
    )
    # exactly the limit of guesses was tried; every other one was refused unheard
    assert kinds(outcomes) == {
        AuthenticationError.__name__: 5,
        LoginThrottledError.__name__: 4 * CLIENTS - 5,
    }
    assert all(o.locked for o in outcomes if isinstance(o, LoginThrottledError))
    with engine.connect() as conn:
        failures = conn.execute(
            select(func.count()).where(
                login_attempts.c.username == "sam", login_attempts.c.success.is_(False)
            )
        ).scalar_one()
    assert failures == 5
    assert len(audit.entries(AuditFilter(action="auth.locked"))) == 1
    with pytest.raises(LoginThrottledError):  # the right password too, until unlocked
        login.login("sam", "Right-Pass-26", now=now)


def test_parallel_edits_of_one_item_one_wins_the_others_get_the_conflict(
    fake_services: Services,
) -> None:
    accounts = AccountStore(fake_services.engine, PasswordHashing.fast_for_tests())
    tina = accounts.add("tina", "Desk-Pass-2026", ["trainer"])
    service = StudioService(
        KnowledgeRepository(fake_services.engine),
        AuditLog(fake_services.engine),
        fake_services.ingest,
        accounts,
    )
    service.create(tina, ItemKind.CLAUSE, PILE_V1, item_id="t-9")

    def edit(i: int) -> int:
        text = f"{PILE_V1.text}（第{i}稿）"
        content = PILE_V1.model_copy(update={"text": text})
        return service.edit(tina, "t-9", content).current_version

    outcomes = in_parallel(CLIENTS, edit)
    seen = kinds(outcomes)
    assert seen["ok"] >= 1 and set(seen) <= {"ok", ConcurrentChangeError.__name__}, outcomes
    detail = service.get(tina, "t-9")
    # every edit that returned made one version, and no other edit left anything behind
    assert [v.number for v in detail.versions] == list(range(1, 2 + seen["ok"]))
    assert detail.item.current_version == 1 + seen["ok"]


@pytest.fixture
def call_services(demo_services: Services, tmp_path: Path) -> Iterator[Services]:
    """The demo services (the real assist pipeline) over a private database with customers and
    an agent."""
    services = Services(with_private_database(demo_services.settings, tmp_path))
    if not services.customers.count():  # the demo database may hold them already
        services.customers.load_records(generate(5))
    services.accounts.add("a091", "Desk-Agent-2026", ["agent"])
    yield services
    services.engine.dispose()


def test_the_same_segment_posted_in_parallel_is_stored_once(call_services: Services) -> None:
    calls = call_services.calls
    call_id = calls.start(NewCall(caller_number="13800000000", agent="a091")).call_id
    segment = NewSegment(seq=0, speaker=Speaker.CUSTOMER, text="我的车被水淹了，能赔吗", final=True)

    outcomes = in_parallel(CLIENTS, lambda _: calls.add_segment(call_id, segment))
    answers = [o for o in outcomes if not isinstance(o, BaseException)]
    assert kinds(outcomes) == {"ok": CLIENTS}, outcomes
    assert all(a.assist == answers[0].assist for a in answers)  # the same answer to each
    with call_services.engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(call_segments.c.call_id == call_id)
        ).scalar_one()
    assert stored == 1
    assert [s.seq for s in calls.get(call_id).segments] == [0]


def test_parallel_wrong_identity_checks_try_no_more_than_the_limit(engine: Engine) -> None:
    lockout = IdentityLockout(engine, b"k" * 32)
    tried: list[int] = []

    def check(i: int) -> LockReason | None:
        # each session guesses the same policy number from its own client
        reason, reservation = lockout.reserve("PDAA202611000001", f"ip:{i}", f"S{i}")
        if reservation is not None:
            tried.append(i)  # the check would be tried here, and fail: the reservation stays
        return reason

    outcomes = in_parallel(4 * CLIENTS, check)
    assert len(tried) == NUMBER_LIMIT
    assert Counter(outcomes) == {None: NUMBER_LIMIT, LockReason.NUMBER: 4 * CLIENTS - NUMBER_LIMIT}
    assert lockout.locked("PDAA202611000001", "ip:new") is LockReason.NUMBER
    # a right answer is no failure: its reservation is given back
    reason, reservation = lockout.reserve("PDAA202611000002", "ip:a", "S-ok")
    assert reason is None and reservation is not None
    lockout.passed(reservation)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(identity_failures)).scalar_one()
    assert stored == NUMBER_LIMIT
