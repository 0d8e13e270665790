"""Self-service claim records on real SQLite: a reported claim is on the profile at once, slots
hold their capacity under concurrent bookings, a withdrawal waits for a person."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from audit.log import AuditFilter, AuditLog
from core.settings import Settings
from customers.demo import generate
from customers.models import (
    WITHDRAWN_STAGE,
    AppointmentKind,
    AppointmentState,
    WithdrawalState,
)
from customers.selfservice import (
    ClaimNotOwnedError,
    ClaimStateError,
    InvalidSelfServiceInputError,
    NewAppointment,
    NewClaimReport,
    NewWithdrawal,
    PolicyMismatchError,
    SelfServiceRecords,
    SlotUnavailableError,
    WithdrawalStateError,
    load_slot_rules,
)
from customers.store import CustomerStore

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 17:00 at the centre


@pytest.fixture(scope="module")
def demo() -> dict[str, list[dict[str, Any]]]:
    return generate()


@pytest.fixture
def customers(migrated_engine: Engine, demo: dict[str, list[dict[str, Any]]]) -> CustomerStore:
    store = CustomerStore(migrated_engine)
    store.load_records(demo)
    return store


@pytest.fixture
def records(migrated_engine: Engine, customers: CustomerStore) -> SelfServiceRecords:
    rules = load_slot_rules(Settings().selfservice_slots)
    return SelfServiceRecords(migrated_engine, AuditLog(migrated_engine), rules, ZONE)


def _policy(demo: dict[str, list[dict[str, Any]]], on: date) -> dict[str, Any]:
    """A demo policy in force on the day, of a customer with a single vehicle."""
    for policy in demo["cust_policies"]:
        if policy["start"] <= on <= policy["end"]:
            return policy
    raise AssertionError("no demo policy in force")


def _report(policy: dict[str, Any], **changes: Any) -> NewClaimReport:
    values: dict[str, Any] = {
        "customer_id": policy["customer_id"],
        "policy_no": policy["policy_no"],
        "plate": policy["plate"],
        "accident_at": NOW - timedelta(hours=2),
        "place": "南京市玄武区中山路与珠江路路口",
        "what_happened": "等红灯时被后车追尾，后保险杠受损",
        "injuries": False,
        "other_party": {"plate": "苏A12345", "insurer": "某财险"},
        "photo_ids": ["up-1", "up-2"],
        "location": {"lat": 32.05, "lon": 118.78},
        "channel": "APP",
        "conversation_id": "conv-1",
    }
    values.update(changes)
    return NewClaimReport.parse(values)


def test_a_reported_claim_is_on_the_profile_at_once(
    records: SelfServiceRecords, customers: CustomerStore, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    claim = records.report_claim(_report(policy), now=NOW)

    assert claim.claim_no == "RC20261120900001"  # the demo's format: RC + day + six digits
    assert claim.stage == "报案"
    second = records.report_claim(_report(policy), now=NOW + timedelta(minutes=1))
    assert second.claim_no == "RC20261120900002"

    profile = customers.profile(policy["customer_id"])
    shown = {c.claim_no: c for c in profile.claims}
    assert claim.claim_no in shown
    assert shown[claim.claim_no].timeline[0].stage == "报案"
    assert "自助报案" in shown[claim.claim_no].timeline[0].note
    assert [r.claim_no for r in profile.self_service.reports] == [second.claim_no, claim.claim_no]
    assert profile.self_service.reports[1].other_party is not None
    assert profile.self_service.reports[1].photo_ids == ["up-1", "up-2"]
    assert any(claim.claim_no in i.summary for i in profile.interactions)
    assert customers.search(claim.claim_no)[0].id == policy["customer_id"]
    audited = AuditLog(records._engine).entries(AuditFilter(action="selfservice.report"))
    assert {e.target for e in audited} == {claim.claim_no, second.claim_no}


def test_a_policy_not_the_customers_or_not_in_force_is_refused(
    records: SelfServiceRecords, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    other = next(p for p in demo["cust_policies"] if p["customer_id"] != policy["customer_id"])
    with pytest.raises(PolicyMismatchError, match="policy_no"):
        records.report_claim(_report(policy, policy_no=other["policy_no"]), now=NOW)
    with pytest.raises(PolicyMismatchError, match="plate"):
        records.report_claim(_report(policy, plate="苏A00000"), now=NOW)
    before = datetime.combine(policy["start"], datetime.min.time(), ZONE) - timedelta(days=2)
    with pytest.raises(PolicyMismatchError, match="accident_at"):
        records.report_claim(_report(policy, accident_at=before), now=NOW)
    with pytest.raises(InvalidSelfServiceInputError, match="accident_at"):
        records.report_claim(_report(policy), now=NOW - timedelta(days=1))


def _booking(claim_no: str, customer_id: str, start: datetime, **changes: Any) -> NewAppointment:
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "claim_no": claim_no,
        "kind": "online_survey",
        "slot_start": start,
        "contact_phone": "13812345678",
        "notes": "下午方便",
    }
    values.update(changes)
    return NewAppointment.parse(values)


def test_slots_book_cancel_and_mediation_rule(
    records: SelfServiceRecords, customers: CustomerStore, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    cid = policy["customer_id"]
    plain = records.report_claim(_report(policy), now=NOW)
    hurt = records.report_claim(
        _report(policy, injuries=True, injury_note="骑车人腿部擦伤"), now=NOW
    )
    tomorrow = date(2026, 11, 21)
    slots = records.available_slots(AppointmentKind.ONLINE_SURVEY, tomorrow, now=NOW)
    assert len(slots) == 24  # 08:00–20:00, every 30 minutes
    assert slots[0].start == datetime(2026, 11, 21, 8, 0, tzinfo=ZONE)
    today = records.available_slots(AppointmentKind.ONLINE_SURVEY, NOW.date(), now=NOW)
    assert today[0].start == datetime(2026, 11, 20, 17, 30, tzinfo=ZONE)  # only future ones

    start = slots[0].start
    booked = records.book(_booking(plain.claim_no, cid, start), now=NOW)
    assert booked.state is AppointmentState.BOOKED
    assert booked.contact_phone == "138****5678"
    left = records.available_slots(AppointmentKind.ONLINE_SURVEY, tomorrow, now=NOW)[0]
    assert left.free == left.capacity - 1
    with pytest.raises(ClaimStateError, match="already"):
        records.book(_booking(plain.claim_no, cid, slots[1].start), now=NOW)

    with pytest.raises(SlotUnavailableError, match="not a slot"):
        records.book(_booking(plain.claim_no, cid, start + timedelta(minutes=10)), now=NOW)
    with pytest.raises(SlotUnavailableError, match="future"):
        records.book(_booking(plain.claim_no, cid, NOW - timedelta(hours=1)), now=NOW)
    with pytest.raises(ClaimStateError, match="injur"):
        records.book(_booking(plain.claim_no, cid, start, kind="injury_mediation"), now=NOW)
    mediation = records.book(_booking(hurt.claim_no, cid, start, kind="injury_mediation"), now=NOW)
    assert mediation.kind is AppointmentKind.INJURY_MEDIATION
    with pytest.raises(ClaimNotOwnedError):
        records.book(
            _booking(plain.claim_no, "C00001" if cid != "C00001" else "C00002", start), now=NOW
        )

    cancelled = records.cancel(cid, booked.id, now=NOW)
    assert cancelled.state is AppointmentState.CANCELLED
    with pytest.raises(SlotUnavailableError):
        records.cancel(cid, booked.id, now=NOW)
    shown = customers.profile(cid).self_service.appointments
    assert {a.id: a.state for a in shown} == {
        booked.id: AppointmentState.CANCELLED,
        mediation.id: AppointmentState.BOOKED,
    }


def test_slot_capacity_holds_under_two_threads(
    records: SelfServiceRecords, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    cid = policy["customer_id"]
    hurt = [
        records.report_claim(_report(policy, injuries=True, injury_note="轻伤"), now=NOW)
        for _ in range(2)
    ]
    start = datetime(2026, 11, 21, 9, 0, tzinfo=ZONE)
    assert records.slots.capacity[AppointmentKind.INJURY_MEDIATION] == 1
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(claim_no: str) -> None:
        barrier.wait()
        try:
            records.book(_booking(claim_no, cid, start, kind="injury_mediation"), now=NOW)
            outcomes.append("booked")
        except SlotUnavailableError:
            outcomes.append("full")

    threads = [threading.Thread(target=book, args=(c.claim_no,)) for c in hurt]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "full"]
    left = records.available_slots(AppointmentKind.INJURY_MEDIATION, start.date(), now=NOW)
    assert start not in [s.start for s in left]


def test_a_withdrawal_waits_for_a_person(
    records: SelfServiceRecords, customers: CustomerStore, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    cid = policy["customer_id"]
    claim = records.report_claim(_report(policy), now=NOW)
    ask = NewWithdrawal.parse({"customer_id": cid, "claim_no": claim.claim_no, "reason": "私了"})
    pending = records.request_withdrawal(ask, now=NOW)
    assert pending.state is WithdrawalState.PENDING
    assert customers.profile(cid).claims[0].stage == "报案"  # nothing changes until a person acts
    with pytest.raises(WithdrawalStateError, match="waiting"):
        records.request_withdrawal(ask, now=NOW)
    assert [w.id for w in records.withdrawals()] == [pending.id]

    with pytest.raises(InvalidSelfServiceInputError, match="note"):
        records.decide(pending.id, "agent1", approve=False, note="  ")
    done = records.decide(pending.id, "agent1", approve=True, note="已电话核实", now=NOW)
    assert done.state is WithdrawalState.APPROVED and done.decided_by == "agent1"
    with pytest.raises(WithdrawalStateError, match="approved"):
        records.decide(pending.id, "agent2", approve=False, note="迟了")

    shown = next(c for c in customers.profile(cid).claims if c.claim_no == claim.claim_no)
    assert shown.stage == WITHDRAWN_STAGE
    assert shown.timeline[-1].stage == WITHDRAWN_STAGE and "agent1" in shown.timeline[-1].note
    with pytest.raises(ClaimStateError, match="withdrawn"):
        records.request_withdrawal(ask, now=NOW)
    decided = AuditLog(records._engine).entries(AuditFilter(action="selfservice.withdrawal."))
    assert [(e.actor, e.target) for e in decided] == [("agent1", claim.claim_no)]


def test_a_refusal_keeps_the_claim_and_a_paid_claim_cannot_be_withdrawn(
    records: SelfServiceRecords, customers: CustomerStore, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    cid = policy["customer_id"]
    claim = records.report_claim(_report(policy), now=NOW)
    ask = NewWithdrawal.parse({"customer_id": cid, "claim_no": claim.claim_no, "reason": "不修了"})
    refused = records.decide(records.request_withdrawal(ask).id, "s1", False, "对方已报案，需核实")
    assert refused.state is WithdrawalState.REFUSED and refused.note == "对方已报案，需核实"
    shown = next(c for c in customers.profile(cid).claims if c.claim_no == claim.claim_no)
    assert shown.stage == "报案"

    paid = next(c for c in demo["cust_claims"] if c["stage"] == "支付")
    with pytest.raises(ClaimStateError, match="paid"):
        records.request_withdrawal(
            NewWithdrawal(customer_id=paid["customer_id"], claim_no=paid["claim_no"], reason="x")
        )


def test_two_reports_at_once_get_different_numbers(
    records: SelfServiceRecords, customers: CustomerStore, demo: dict[str, list[dict[str, Any]]]
) -> None:
    policy = _policy(demo, NOW.date())
    barrier = threading.Barrier(2)
    numbers: list[str] = []

    def report() -> None:
        barrier.wait()
        numbers.append(records.report_claim(_report(policy), now=NOW).claim_no)

    threads = [threading.Thread(target=report) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == ["RC20261120900001", "RC20261120900002"]
    shown = {c.claim_no for c in customers.profile(policy["customer_id"]).claims}
    assert set(numbers) <= shown
