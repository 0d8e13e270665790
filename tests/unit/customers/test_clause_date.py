"""Which clause editions apply to a customer: the start of the policy in force (pure)."""

from __future__ import annotations

from datetime import date

from customers.models import Coverage, CustomerProfile, MemberTier, Policy


def _policy(no: str, start: date, end: date) -> Policy:
    return Policy(
        policy_no=no,
        plate="粤B12345",
        coverages=[Coverage(name="车损险")],
        start=start,
        end=end,
        premium=3000.0,
    )


def _profile(*policies: Policy) -> CustomerProfile:
    return CustomerProfile(
        id="C1",
        name="王*明",
        salutation="王先生",
        phone="193****0001",
        id_number="999***1",
        city="深圳",
        tier=MemberTier.REGULAR,
        privileges=[],
        vehicles=[],
        policies=list(policies),
        claims=[],
        interactions=[],
    )


def test_the_policy_in_force_decides() -> None:
    old = _policy("P1", date(2024, 3, 1), date(2025, 3, 1))
    current = _policy("P2", date(2025, 3, 1), date(2026, 3, 1))
    assert _profile(old, current).clause_date(date(2025, 6, 1)) == date(2025, 3, 1)
    assert _profile(old, current).clause_date(date(2024, 6, 1)) == date(2024, 3, 1)


def test_without_a_policy_in_force_the_latest_decides() -> None:
    lapsed = _policy("P1", date(2023, 1, 1), date(2024, 1, 1))
    later = _policy("P2", date(2024, 1, 1), date(2025, 1, 1))
    assert _profile(lapsed, later).clause_date(date(2026, 1, 1)) == date(2024, 1, 1)
    assert _profile().clause_date(date(2026, 1, 1)) is None
