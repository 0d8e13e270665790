"""The call-event API against the demo index and the real models: the telephony connector opens a
call and posts segments, the assist answers; idempotent, ordered by seq, stored redacted, and the
same as replaying the call in one process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accounts.passwords import PasswordHashing
from api.app import create_app
from assist.calls import read_call
from cli.simulate import simulate
from core.settings import PROJECT_ROOT, Settings
from customers.demo import generate
from customers.models import RevealableField
from services.root import Services
from tests.conftest import stored_text, with_private_database

pytestmark = pytest.mark.integration

CALLS = PROJECT_ROOT / "data" / "demo" / "calls"
PASSWORD = "Desk-Agent-2026"


@pytest.fixture(scope="module")
def settings_(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = with_private_database(demo_services.settings, tmp_path_factory.mktemp("calls"))
    services = Services(settings, passwords=PasswordHashing.fast_for_tests())
    if not services.customers.count():  # the demo data dir may hold them already
        services.customers.load_records(generate(20))
    services.accounts.add("a031", PASSWORD, ["agent"])
    services.accounts.add("b032", PASSWORD, ["agent"])
    services.accounts.add("s039", PASSWORD, ["supervisor"])
    return settings


@pytest.fixture(scope="module")
def services(settings_: Settings, demo_services: Services) -> Services:
    return Services(settings_, embedder=demo_services.embedder)


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


@pytest.fixture(scope="module")
def telephony(services: Services) -> dict[str, str]:
    key = services.api_keys.create("telephony", "calls", created_by="test").key
    return {"Authorization": f"Bearer {key}"}


def _agent(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _phone(services: Services, customer_id: str) -> str:
    return services.customers.identifier(customer_id, RevealableField.PHONE)


def _segment(
    client: TestClient, headers: dict[str, str], call_id: str, seq: int, speaker: str, text: str,
    final: bool = True,
) -> dict[str, Any]:  # fmt: skip
    response = client.post(
        f"/v1/calls/{call_id}/segments",
        json={"seq": seq, "speaker": speaker, "text": text, "final": final},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_call_opens_with_a_screen_pop_and_unknown_numbers_are_anonymous(
    client: TestClient, services: Services, telephony: dict[str, str]
) -> None:
    number = _phone(services, "C00003")
    opened = client.post(
        "/v1/calls",
        json={"call_id": "T-1001", "caller_number": f"+86 {number}", "agent": "a031"},
        headers=telephony,
    )
    assert opened.status_code == 201, opened.text
    assert opened.json() == {"call_id": "T-1001", "customer_id": "C00003"}
    anonymous = client.post(
        "/v1/calls", json={"caller_number": "19900000000", "agent": "a031"}, headers=telephony
    )
    assert anonymous.json()["customer_id"] is None and anonymous.json()["call_id"]
    again = client.post(
        "/v1/calls", json={"call_id": "T-1001", "caller_number": number, "agent": "a031"},
        headers=telephony,
    )  # fmt: skip
    assert again.status_code == 409 and again.json()["error"]["code"] == "call_exists"
    unknown_agent = client.post(
        "/v1/calls", json={"caller_number": number, "agent": "nobody"}, headers=telephony
    )
    assert unknown_agent.status_code == 422 and unknown_agent.json()["error"]["field"] == "agent"


def test_segments_answer_like_the_console_idempotently_in_seq_order(
    client: TestClient, services: Services, telephony: dict[str, str]
) -> None:
    call_id = client.post(
        "/v1/calls", json={"caller_number": "19900000001", "agent": "a031"}, headers=telephony
    ).json()["call_id"]
    interim = _segment(client, telephony, call_id, 1, "customer", "我的车被水", final=False)
    assert interim["assist"] is None
    final = _segment(
        client, telephony, call_id, 1, "customer", "我的车在地库被水淹了，手机13812345678，能赔吗"
    )
    assist = final["assist"]
    assert assist["hits"] and assist["mood"] and assist["intent"]["intent"]
    # one line of `policydesk assist --json` has the same shape
    assert set(assist) == set(json.loads(_cli_line(services)))
    again = _segment(client, telephony, call_id, 1, "customer", "完全不同的文字")
    assert again == final  # the same (call_id, seq): the same answer, nothing added

    _segment(client, telephony, call_id, 5, "customer", "那这个多久能赔？")
    _segment(client, telephony, call_id, 3, "agent", "您先别着急，我帮您报案。")
    view = client.get(f"/v1/calls/{call_id}", headers=telephony).json()
    assert [s["seq"] for s in view["segments"]] == [1, 3, 5]
    assert "13812345678" not in json.dumps(view) and "138****5678" in view["segments"][0]["text"]

    missing = client.post(
        "/v1/calls/nope/segments",
        json={"seq": 1, "speaker": "customer", "text": "你好", "final": True},
        headers=telephony,
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "call_not_found"
    draft = client.post(f"/v1/calls/{call_id}/end", headers=telephony)
    assert draft.status_code == 200 and draft.json()["text"]
    # the draft states the facts extracted from the stored (redacted) turns
    facts = draft.json()["facts"]
    assert [e["label"] for e in facts["events"]] == ["地库被淹"]
    assert [c["label"] for c in facts["commitments"]] == ["已登记报案"]
    assert draft.json()["disposition"] == "已报案" and "138****5678" not in draft.json()["text"]
    ended = client.post(
        f"/v1/calls/{call_id}/segments",
        json={"seq": 9, "speaker": "customer", "text": "还在吗", "final": True},
        headers=telephony,
    )
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "call_ended"


def _cli_line(services: Services) -> str:
    session = services.assist_session()
    turn = read_call(CALLS / "01_flooded_garage.jsonl")[0]
    return session.add(turn).model_dump_json()


def test_a_call_posted_segment_by_segment_reads_as_replaying_it_in_one_process(
    client: TestClient, services: Services, telephony: dict[str, str]
) -> None:
    turns = read_call(CALLS / "02_angry_refusal.jsonl")
    call_id = client.post(
        "/v1/calls", json={"caller_number": "19900000002", "agent": "a031"}, headers=telephony
    ).json()["call_id"]
    posted = [
        _segment(client, telephony, call_id, seq, t.speaker.value, t.text)["assist"]
        for seq, t in enumerate(turns)
    ]
    local = services.assist_session()
    replayed = [json.loads(local.add(t).model_dump_json()) for t in turns]
    for api_view, local_view in zip(posted, replayed, strict=True):
        assert api_view["mood"] == local_view["mood"]
        assert api_view["alert"] == local_view["alert"]
        assert [h["id"] for h in api_view["hits"]] == [h["id"] for h in local_view["hits"]]


def test_who_may_read_calls_and_what_survives_a_restart(
    client: TestClient, services: Services, telephony: dict[str, str], settings_: Settings
) -> None:
    call_id = client.post(
        "/v1/calls", json={"caller_number": "19900000003", "agent": "b032"}, headers=telephony
    ).json()["call_id"]
    _segment(client, telephony, call_id, 0, "customer", "我要投诉你们，身份证110101199001011234")
    assert client.get("/v1/calls").status_code == 401
    mine = client.get("/v1/calls", headers=_agent(client, "a031")).json()["items"]
    assert call_id not in {c["call_id"] for c in mine}  # an agent sees their own calls
    floor = client.get("/v1/calls", headers=_agent(client, "s039")).json()["items"]
    assert call_id in {c["call_id"] for c in floor}
    posted = client.post(
        "/v1/calls", json={"caller_number": "1", "agent": "a031"}, headers=_agent(client, "a031")
    )
    assert posted.status_code == 403  # only the telephony connector opens calls

    restarted = Services(settings_, embedder=services.embedder)
    with TestClient(create_app(restarted)) as fresh:
        view = fresh.get(f"/v1/calls/{call_id}", headers=telephony).json()
    assert view["segments"][0]["text"].endswith("110101********1234")
    assert "110101199001011234" not in stored_text(settings_.sqlalchemy_url())


@pytest.fixture(scope="module")
def served(services: Services) -> Iterator[str]:
    """The API on a real port, as the telephony side would reach it."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_simulator_drives_the_api_as_a_connector_would(
    served: str, services: Services, telephony: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    for name in ("06_claim_progress.jsonl", "09_designated_driver.jsonl"):
        (folder / name).write_bytes((CALLS / name).read_bytes())
    turns = sum(len(read_call(path)) for path in folder.glob("*.jsonl"))
    key = telephony["Authorization"].removeprefix("Bearer ")
    report = simulate(served, key, folder, agents=2, agent_names=["a031", "b032"], callers=[],
                      realtime=False)  # fmt: skip
    assert report.errors == []
    assert (report.streams, report.calls, report.segments) == (2, 4, 2 * turns)
    assert 0 < report.p50_ms <= report.p95_ms
    ended = [c for c in services.calls.calls() if c.agent in ("a031", "b032")]
    assert sum(c.state.value == "ended" for c in ended) >= 4


def test_the_simulator_can_leave_its_calls_open_for_a_demo(
    served: str, services: Services, telephony: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    (folder / "call.jsonl").write_bytes((CALLS / "05_renewal_ncd.jsonl").read_bytes())
    key = telephony["Authorization"].removeprefix("Bearer ")
    report = simulate(served, key, folder, agents=1, agent_names=["b032"], callers=[],
                      realtime=False, leave_open=True)  # fmt: skip
    assert report.errors == [] and report.calls == 1
    live = services.calls.calls_of("b032")
    assert any(len(services.calls.get(c.id).segments) == report.segments for c in live)
