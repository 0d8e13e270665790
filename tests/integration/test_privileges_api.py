"""The member-privileges API on real SQLite: used/left, booking until the quota is used up,
not-included and unknown privileges, cancelling; errors in the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from customers.demo import generate
from customers.models import MemberTier
from services.root import Services

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"


@pytest.fixture
def services(fake_services: Services) -> Services:
    fake_services.accounts.add("a1", PASSWORD, ["agent"])
    fake_services.customers.load_records(generate())
    return fake_services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    yield TestClient(create_app(services))  # no lifespan: these routes need no chatbot


def _login(client: TestClient) -> dict[str, str]:
    token = client.post("/v1/auth/token", json={"username": "a1", "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _of(services: Services, tier: MemberTier) -> str:
    return next(s.id for s in services.customers.list(limit=500) if s.tier is tier)


def test_book_until_the_quota_is_used_up_and_cancel(client: TestClient, services: Services) -> None:
    agent = _login(client)
    four = _of(services, MemberTier.FOUR_STAR)
    year = datetime.now(services.settings.centre_zone).year
    before = client.get(f"/v1/customers/{four}/privileges", headers=agent)
    assert before.status_code == 200, before.text
    assert before.json()["tier"] == "四星" and before.json()["year"] == year
    driver = next(i for i in before.json()["items"] if i["key"] == "designated_driver")
    assert (driver["quota"], driver["used"], driver["left"]) == (4, 0, 4)
    rescue = next(i for i in before.json()["items"] if i["key"] == "roadside_rescue")
    assert rescue["quota"] is None and rescue["left"] is None

    url = f"/v1/customers/{four}/privileges/designated_driver/bookings"
    made = [
        client.post(url, json={"place": "静安寺", "notes": "两人"}, headers=agent) for _ in range(4)
    ]
    assert [m.status_code for m in made] == [201] * 4, made[0].text
    assert made[0].json()["by"] == "a1" and made[0].json()["place"] == "静安寺"
    assert made[0].headers["Location"].endswith(f"/bookings/{made[0].json()['id']}")
    refused = client.post(url, json={}, headers=agent)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "quota_exhausted" and error["field"] == "key"
    assert "四星" in error["message"] and "4/4" in error["message"]

    booking_id = made[0].json()["id"]
    cancelled = client.delete(
        f"/v1/customers/{four}/privileges/bookings/{booking_id}", headers=agent
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    after = client.get(f"/v1/customers/{four}/privileges", headers=agent).json()
    driver = next(i for i in after["items"] if i["key"] == "designated_driver")
    assert (driver["used"], driver["left"]) == (3, 1)
    assert client.post(url, json={}, headers=agent).status_code == 201
    other = _of(services, MemberTier.FIVE_STAR)
    wrong = client.delete(f"/v1/customers/{other}/privileges/bookings/{booking_id}", headers=agent)
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "booking_not_found"
    actions = [e.action for e in services.audit.entries() if e.target == four]
    assert actions.count("privilege.book") == 5 and actions.count("privilege.cancel") == 1


def test_not_included_unknown_and_unauthenticated(client: TestClient, services: Services) -> None:
    agent = _login(client)
    regular = _of(services, MemberTier.REGULAR)
    base = f"/v1/customers/{regular}/privileges"
    not_included = client.post(f"{base}/designated_driver/bookings", json={}, headers=agent)
    assert not_included.status_code == 422
    error = not_included.json()["error"]
    assert error["code"] == "privilege_not_included" and "普通" in error["message"]
    unknown = client.post(f"{base}/valet_parking/bookings", json={}, headers=agent)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "privilege_not_found"
    naive = client.post(
        f"{base}/roadside_rescue/bookings", json={"for_when": "2026-05-01T10:00:00"}, headers=agent
    )
    assert naive.status_code == 422  # a time without a zone is ambiguous
    later = client.post(
        f"{base}/roadside_rescue/bookings",
        json={"for_when": "2031-05-01T10:00:00+08:00"},
        headers=agent,
    )
    assert later.status_code == 201 and later.json()["year"] == 2031
    assert client.get(f"{base}?year=2031", headers=agent).json()["items"][0]["used"] == 1
    assert client.get(base).status_code == 401
    missing = client.get("/v1/customers/C99999/privileges", headers=agent)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "customer_not_found"
