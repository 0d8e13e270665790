"""Privilege bookings on a real database: book until the quota is used up, cancel, the year
boundary in the centre's time zone, parallel bookings, the audit trail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from audit.log import AuditFilter, AuditLog
from customers.bookings import (
    CHATBOT,
    BookingNotFoundError,
    BookingState,
    InvalidBookingError,
    PrivilegeBookingStore,
    PrivilegeNotIncludedError,
    PrivilegeService,
    QuotaExhaustedError,
)
from customers.demo import generate
from customers.models import MemberTier
from customers.privileges import PrivilegeError, load_privileges
from customers.store import DEFAULT_PRIVILEGES_FILE, CustomerNotFoundError, CustomerStore

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def tiers(migrated_engine: Engine) -> dict[MemberTier, str]:
    """One demo customer id per tier."""
    records = generate()
    CustomerStore(migrated_engine).load_records(records)
    found: dict[MemberTier, str] = {}
    for row in records["cust_customers"]:
        found.setdefault(MemberTier(str(row["tier"])), str(row["id"]))
    assert set(found) == set(MemberTier)
    return found


@pytest.fixture
def store(migrated_engine: Engine) -> PrivilegeBookingStore:
    book = load_privileges(DEFAULT_PRIVILEGES_FILE)
    return PrivilegeBookingStore(migrated_engine, lambda: book, SHANGHAI)


def test_book_until_the_quota_is_used_up_then_cancel_gives_one_back(
    store: PrivilegeBookingStore, tiers: dict[MemberTier, str]
) -> None:
    four = tiers[MemberTier.FOUR_STAR]
    made = [
        store.book(four, "designated_driver", NOW, "agent1", place="上海南京西路", now=NOW)
        for _ in range(4)
    ]
    assert len({b.id for b in made}) == 4
    assert made[0].tier is MemberTier.FOUR_STAR and made[0].year == 2026
    with pytest.raises(QuotaExhaustedError, match=r"四星.*designated_driver.*4/4") as caught:
        store.book(four, "designated_driver", NOW, "agent1", now=NOW)
    assert (caught.value.used, caught.value.quota) == (4, 4)
    usage = {u.key: u for u in store.usage(four, 2026).items}
    assert (usage["designated_driver"].used, usage["designated_driver"].left) == (4, 0)
    cancelled = store.cancel(made[0].id, "agent1", now=NOW)
    assert cancelled.state is BookingState.CANCELLED and cancelled.cancelled_by == "agent1"
    assert store.cancel(made[0].id, "agent2", now=NOW).cancelled_by == "agent1"  # once
    again = store.book(four, "designated_driver", NOW, CHATBOT, now=NOW)
    assert again.by == CHATBOT
    assert {u.key: u.left for u in store.usage(four, 2026).items}["designated_driver"] == 0
    assert len(store.bookings(four, 2026)) == 5


def test_unlimited_never_runs_out_and_not_included_is_refused(
    store: PrivilegeBookingStore, tiers: dict[MemberTier, str]
) -> None:
    five = tiers[MemberTier.FIVE_STAR]
    for _ in range(15):
        store.book(five, "roadside_rescue", NOW, "agent1", now=NOW)
    assert {u.key: u.used for u in store.usage(five, 2026).items}["roadside_rescue"] == 15
    regular = tiers[MemberTier.REGULAR]
    with pytest.raises(PrivilegeNotIncludedError, match=r"普通.*designated_driver") as caught:
        store.book(regular, "designated_driver", NOW, "agent1", now=NOW)
    assert caught.value.tier is MemberTier.REGULAR
    assert store.bookings(regular) == []  # nothing written
    with pytest.raises(PrivilegeError, match="valet"):
        store.book(regular, "valet", NOW, "agent1", now=NOW)
    with pytest.raises(CustomerNotFoundError):
        store.book("C99999", "roadside_rescue", NOW, "agent1", now=NOW)
    with pytest.raises(InvalidBookingError, match="by"):
        store.book(regular, "roadside_rescue", NOW, " ", now=NOW)
    with pytest.raises(BookingNotFoundError):
        store.cancel(424242, "agent1")


def test_the_year_is_the_centres_calendar_year_of_the_use(
    store: PrivilegeBookingStore, tiers: dict[MemberTier, str]
) -> None:
    three = tiers[MemberTier.THREE_STAR]
    # 31 Dec 17:00 UTC is already 1 January in Shanghai: next year's quota
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    last_day = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    assert store.book(three, "inspection_run", last_day, "agent1", now=NOW).year == 2026
    assert store.book(three, "inspection_run", new_year, "agent1", now=NOW).year == 2027
    with pytest.raises(QuotaExhaustedError, match="1/1"):
        store.book(three, "inspection_run", last_day, "agent1", now=NOW)
    assert {u.key: u.left for u in store.usage(three, 2027).items}["inspection_run"] == 0
    assert {u.key: u.left for u in store.usage(three, 2028).items}["inspection_run"] == 1


def test_parallel_bookings_never_exceed_the_quota(
    store: PrivilegeBookingStore, tiers: dict[MemberTier, str]
) -> None:
    regular = tiers[MemberTier.REGULAR]  # roadside rescue twice a year
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def attempt() -> None:
        start.wait()
        try:
            store.book(regular, "roadside_rescue", NOW, "agent1", now=NOW)
            result = "booked"
        except QuotaExhaustedError:
            result = "exhausted"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] * 2 + ["exhausted"] * 6
    live = [b for b in store.bookings(regular, 2026) if b.state is BookingState.BOOKED]
    assert len(live) == 2


def test_the_service_audits_and_counts_this_year(
    migrated_engine: Engine, store: PrivilegeBookingStore, tiers: dict[MemberTier, str]
) -> None:
    audit = AuditLog(migrated_engine)
    service = PrivilegeService(store, audit, clock=lambda: NOW)
    four = tiers[MemberTier.FOUR_STAR]
    booking = service.book(four, "designated_driver", None, "agent1", place="静安寺")
    assert booking.for_when == NOW and booking.place == "静安寺"
    report = service.usage(four)
    assert report.year == 2026 and report.tier is MemberTier.FOUR_STAR
    assert [u.display for u in report.items if u.key == "designated_driver"] == [
        "免费酒后代驾 1/4 剩余3"
    ]
    service.cancel(booking.id, "agent1")
    actions = [e.action for e in audit.entries(AuditFilter(target=four))]
    assert sorted(actions) == ["privilege.book", "privilege.cancel"]


def test_a_use_far_outside_the_calendar_is_refused(
    store: PrivilegeBookingStore, tiers: dict[MemberTier, str]
) -> None:
    five = tiers[MemberTier.FIVE_STAR]
    for when in (datetime(1, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)):
        with pytest.raises(InvalidBookingError, match="for_when"):
            store.book(five, "roadside_rescue", when, "agent1", now=NOW)
