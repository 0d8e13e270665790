"""The self-service inputs refuse a bad value with a typed error naming the field and the value;
the slot rules give 24 half-hour slots a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.errors import ConfigurationError, PolicyDeskError
from core.settings import Settings
from customers.models import AppointmentKind
from customers.selfservice import (
    InvalidSelfServiceInputError,
    NewAppointment,
    NewClaimReport,
    NewWithdrawal,
    SlotRules,
    load_slot_rules,
)

ZONE = ZoneInfo("Asia/Shanghai")


def _report(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer_id": "C00001",
        "policy_no": " p2026000010 ",
        "plate": "苏a 12345",
        "accident_at": datetime.now(UTC) - timedelta(hours=1),
        "place": "中山路  路口",
        "what_happened": "追尾",
    }
    values.update(changes)
    return values


def test_a_good_report_is_normalised() -> None:
    report = NewClaimReport.parse(_report(other_party={"plate": "浙b 54321", "insurer": "某财险"}))
    assert report.policy_no == "P2026000010" and report.plate == "苏A12345"
    assert report.place == "中山路 路口"
    assert report.other_party is not None and report.other_party.plate == "浙B54321"
    assert report.photo_ids == [] and report.location is None and report.injuries is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"accident_at": datetime.now(UTC) + timedelta(days=1)}, "accident_at"),
        ({"accident_at": "2026-11-20T09:00:00"}, "accident_at"),  # no time zone
        ({"place": "   "}, "place"),
        ({"what_happened": "长" * 501}, "what_happened"),
        ({"injuries": True}, "injury_note"),  # injuries need a note
        ({"injury_note": "擦伤"}, "injury_note"),  # a note without injuries
        ({"other_party": {"plate": "", "insurer": "x"}}, "other_party.plate"),
        ({"other_party": {"plate": "12345"}}, "other_party.plate"),
        ({"photo_ids": ["ok", " "]}, "photo_ids"),
        ({"photo_ids": [f"u{i}" for i in range(21)]}, "photo_ids"),
        ({"location": {"lat": 91, "lon": 118}}, "location.lat"),
        ({"customer_id": ""}, "customer_id"),  # pydantic's own check, turned into ours
        ({"injuries": "maybe"}, "injuries"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_a_bad_report_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidSelfServiceInputError) as caught:
        NewClaimReport.parse(_report(**changes))
    assert caught.value.field == field
    assert field.split(".")[0] in str(caught.value)
    assert isinstance(caught.value, PolicyDeskError)


def test_the_error_carries_the_bad_value() -> None:
    with pytest.raises(InvalidSelfServiceInputError) as caught:
        NewClaimReport.parse(_report(place=""))
    assert caught.value.value == "" and "got ''" in str(caught.value)


def _appointment(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer_id": "C00001",
        "claim_no": "rc20261120900001",
        "kind": "online_survey",
        "slot_start": datetime(2026, 11, 21, 10, 0, tzinfo=ZONE),
        "contact_phone": "+86 138 1234 5678",
    }
    values.update(changes)
    return values


def test_an_appointment_keeps_the_digits_and_a_bad_one_is_named() -> None:
    booked = NewAppointment.parse(_appointment())
    assert booked.contact_phone == "13812345678" and booked.claim_no == "RC20261120900001"
    with pytest.raises(InvalidSelfServiceInputError) as caught:
        NewAppointment.parse(_appointment(contact_phone="12345"))
    assert caught.value.field == "contact_phone"
    with pytest.raises(InvalidSelfServiceInputError, match="kind"):
        NewAppointment.parse(_appointment(kind="repair"))
    with pytest.raises(InvalidSelfServiceInputError, match="time zone"):
        NewAppointment.parse(_appointment(slot_start="2026-11-21T10:00:00"))


def test_a_withdrawal_needs_a_reason() -> None:
    with pytest.raises(InvalidSelfServiceInputError) as caught:
        NewWithdrawal.parse({"customer_id": "C00001", "claim_no": "RC1", "reason": " "})
    assert caught.value.field == "reason"


def test_the_shipped_slots_are_seven_by_twelve_in_half_hours() -> None:
    rules = load_slot_rules(Settings().selfservice_slots)
    starts = rules.starts(date(2026, 11, 22), ZONE)  # a Sunday: every day is open
    assert len(starts) == 24
    assert starts[0].time() == time(8, 0) and starts[-1].time() == time(19, 30)
    assert set(rules.capacity) == set(AppointmentKind)


def test_bad_slot_rules_are_refused(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="closes"):
        SlotRules(opens=time(20), closes=time(8), slot_minutes=30, capacity={"online_survey": 1,
                  "injury_mediation": 1})  # fmt: skip
    bad = tmp_path / "slots.yaml"
    bad.write_text("opens: '08:00'\ncloses: '20:00'\nslot_minutes: 30\ncapacity: {}\n")
    with pytest.raises(ConfigurationError, match=r"slots\.yaml"):
        load_slot_rules(bad)
