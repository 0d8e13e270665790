"""The approvals API (分层授权) on real SQLite: an agent requests on their own call, a supervisor
lists and decides; errors in the one error shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from accounts.authority import Level
from api.app import create_app
from calls.models import NewCall
from services.root import Services

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"


@pytest.fixture
def services(fake_services: Services) -> Services:
    for name, role in (("a1", "agent"), ("a2", "agent"), ("s1", "supervisor")):
        fake_services.accounts.add(name, PASSWORD, [role])
    fake_services.staff.set("a1", "坐席一", "一组", Level.SENIOR)
    return fake_services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    yield TestClient(create_app(services))  # no lifespan: these routes need no chatbot


def _login(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _call(services: Services, agent: str) -> str:
    return services.calls.start(NewCall(caller_number="19900008888", agent=agent)).call_id


def test_request_list_and_decide(client: TestClient, services: Services) -> None:
    agent, boss = _login(client, "a1"), _login(client, "s1")
    call_id = _call(services, "a1")
    url = f"/v1/calls/{call_id}/approvals"

    within = client.post(
        url, json={"action": "goodwill", "amount": 300, "reason": "慰问"}, headers=agent
    )
    assert within.status_code == 201, within.text
    assert within.json()["state"] == "granted" and within.json()["limit"] == 500
    above = client.post(
        url, json={"action": "fast_track", "amount": 8000, "reason": "急需修车"}, headers=agent
    )
    assert above.status_code == 201 and above.json()["state"] == "pending"
    assert above.headers["Location"] == f"/v1/approvals/{above.json()['id']}"

    listed = client.get("/v1/approvals", headers=boss)
    assert listed.status_code == 200
    (pending,) = listed.json()["items"]
    assert (pending["call_id"], pending["agent"], pending["level"], pending["amount"]) == (
        call_id,
        "a1",
        "senior",
        8000,
    )
    assert len(client.get("/v1/approvals?state=all", headers=boss).json()["items"]) == 2

    decision = f"/v1/approvals/{pending['id']}/decision"
    no_note = client.post(decision, json={"approve": False}, headers=boss)
    assert no_note.status_code == 422 and no_note.json()["error"]["code"] == "invalid_approval"
    approved = client.post(decision, json={"approve": True, "note": "同意"}, headers=boss)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved" and approved.json()["decided_by"] == "s1"
    twice = client.post(decision, json={"approve": False, "note": "x"}, headers=boss)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "approval_decided"
    assert client.get("/v1/approvals", headers=boss).json()["items"] == []


def test_errors_in_the_one_shape(client: TestClient, services: Services) -> None:
    agent, other, boss = _login(client, "a1"), _login(client, "a2"), _login(client, "s1")
    call_id = _call(services, "a1")
    url = f"/v1/calls/{call_id}/approvals"
    body = {"action": "goodwill", "amount": 100, "reason": "慰问"}

    assert client.post(url, json=body).status_code == 401
    foreign = client.post(url, json=body, headers=other)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "call_not_found"
    unknown = client.post("/v1/calls/call-nope/approvals", json=body, headers=agent)
    assert unknown.status_code == 404
    for bad in (
        {**body, "action": "refund"},
        {**body, "amount": -5},
        {**body, "amount": 5e7},
        {**body, "reason": ""},
        {**body, "extra": 1},
    ):
        refused = client.post(url, json=bad, headers=agent)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"] == "validation_error"
    listing = client.get("/v1/approvals", headers=agent)
    assert listing.status_code == 403 and listing.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/approvals?state=lost", headers=boss).status_code == 422
    missing = client.post("/v1/approvals/999/decision", json={"approve": True}, headers=boss)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "approval_not_found"
    pending = client.post(
        url, json={**body, "action": "fast_track", "amount": 9000}, headers=agent
    ).json()
    by_agent = client.post(
        f"/v1/approvals/{pending['id']}/decision", json={"approve": True}, headers=agent
    )
    assert by_agent.status_code == 403


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    request = paths["/v1/calls/{call_id}/approvals"]["post"]
    assert request["tags"] == ["approvals"] and {"401", "403", "404", "422"} <= set(
        request["responses"]
    )
    assert {"404", "409", "422"} <= set(
        paths["/v1/approvals/{approval_id}/decision"]["post"]["responses"]
    )
    assert "get" in paths["/v1/approvals"]
