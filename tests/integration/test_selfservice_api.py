"""The self-service records' staff API on real SQLite: a customer's records, pending withdrawals,
a person's decision; errors in the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from customers.demo import generate
from customers.selfservice import NewAppointment, NewClaimReport, NewWithdrawal
from privacy.service import ERASED
from services.root import Services

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(fake_services: Services) -> Services:
    fake_services.customers.load_records(generate(count=20))
    fake_services.accounts.add("a1", PASSWORD, ["agent"])
    fake_services.accounts.add("t1", PASSWORD, ["trainer"])
    return fake_services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    yield TestClient(create_app(services))  # no lifespan: these routes need no chatbot


def _login(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _reported(services: Services) -> tuple[str, str]:
    policy: Any = next(
        p for p in generate(count=20)["cust_policies"] if p["start"] <= NOW.date() <= p["end"]
    )
    claim = services.selfservice.report_claim(
        NewClaimReport(
            customer_id=policy["customer_id"],
            policy_no=policy["policy_no"],
            plate=policy["plate"],
            accident_at=NOW - timedelta(hours=1),
            place="杭州市西湖区文三路",
            what_happened="倒车时碰到路边石墩",
        ),
        now=NOW,
    )
    return policy["customer_id"], claim.claim_no


def test_records_pending_withdrawals_and_a_decision(client: TestClient, services: Services) -> None:
    agent = _login(client, "a1")
    customer_id, claim_no = _reported(services)
    records = client.get(f"/v1/customers/{customer_id}/selfservice", headers=agent)
    assert records.status_code == 200, records.text
    assert [r["claim_no"] for r in records.json()["reports"]] == [claim_no]

    pending = services.selfservice.request_withdrawal(
        NewWithdrawal(customer_id=customer_id, claim_no=claim_no, reason="已与对方协商解决")
    )
    listed = client.get("/v1/selfservice/withdrawals", headers=agent).json()["items"]
    assert [w["id"] for w in listed] == [pending.id]

    url = f"/v1/selfservice/withdrawals/{pending.id}/decision"
    no_note = client.post(url, json={"approve": False}, headers=agent)
    assert no_note.status_code == 422
    assert no_note.json()["error"]["field"] == "note"
    done = client.post(url, json={"approve": True, "note": "已回电确认"}, headers=agent)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "approved" and done.json()["decided_by"] == "a1"
    again = client.post(url, json={"approve": True}, headers=agent)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "withdrawal_state_conflict"
    profile = services.customers.profile(customer_id)
    assert next(c for c in profile.claims if c.claim_no == claim_no).stage == "已撤案"
    assert client.get("/v1/selfservice/withdrawals", headers=agent).json()["items"] == []


def test_staff_only_and_errors_in_the_one_shape(client: TestClient, services: Services) -> None:
    assert client.get("/v1/selfservice/withdrawals").status_code == 401
    trainer = client.get("/v1/selfservice/withdrawals", headers=_login(client, "t1"))
    assert trainer.status_code == 403
    agent = _login(client, "a1")
    unknown = client.post(
        "/v1/selfservice/withdrawals/999/decision", json={"approve": True}, headers=agent
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "withdrawal_not_found"
    nobody = client.get("/v1/customers/C99999/selfservice", headers=agent)
    assert nobody.status_code == 404
    assert nobody.json()["error"]["code"] == "customer_not_found"


def test_export_carries_the_records_and_erase_removes_the_words(services: Services) -> None:
    services.accounts.add("s1", PASSWORD, ["supervisor"])
    boss = services.accounts.get("s1")
    customer_id, claim_no = _reported(services)
    start = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 at the centre
    services.selfservice.book(
        NewAppointment(
            customer_id=customer_id,
            claim_no=claim_no,
            kind="online_survey",
            slot_start=start,
            contact_phone="13812345678",
            notes="请下午联系我",
        ),
        now=NOW,
    )
    services.selfservice.request_withdrawal(
        NewWithdrawal(customer_id=customer_id, claim_no=claim_no, reason="对方全责，走对方保险")
    )

    exported = services.privacy.export(boss, customer_id)["self_service"]
    assert exported["claim_reports"][0]["place"] == "杭州市西湖区文三路"
    assert exported["appointments"][0]["contact_phone"] == "13812345678"
    assert exported["withdrawals"][0]["reason"] == "对方全责，走对方保险"

    report = services.privacy.erase(boss, customer_id)
    assert report.anonymised["self_service_reports"] == 1
    kept = services.selfservice.records_for(customer_id)
    assert kept.reports[0].claim_no == claim_no  # the record stays: it is a claim's history
    assert kept.reports[0].place == ERASED and kept.reports[0].what_happened == ERASED
    assert kept.appointments[0].notes == ERASED and kept.appointments[0].contact_phone == ""
    assert kept.withdrawals[0].reason == ERASED
    again = services.privacy.erase(boss, customer_id)
    assert again.anonymised["self_service_reports"] == 0  # idempotent
