"""The HTTP API over the demo index, the real encoder and the trained emotion model.

The knowledge catalog and the chat tables share one SQLite file, so the module works on a copy
of the demo database (the Chroma index stays shared, read-only): handoffs written here never
reach the demo queue other tests look at.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from accounts.passwords import PasswordHashing
from api.app import create_app
from audit.log import AuditFilter
from chatbot.service import ChatbotService
from core.settings import Settings
from customers.demo import generate
from db.schema import conversations
from retrieval.retriever import HybridRetriever
from services.root import Services
from tests.conftest import private_demo, stored_text, with_private_database
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.integration

CLAUSE_QUESTION = "车损险都包括哪些情况"
INJURY_MESSAGE = "撞人了对方在流血怎么办，我手机13812345678"
SECRET = "13900001111"
AGENT_PASSWORD = "Desk-Agent-2026"


@pytest.fixture(scope="module")
def api_settings(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo settings over a private copy of the demo database."""
    settings = with_private_database(
        demo_services.settings,
        tmp_path_factory.mktemp("api"),
        # the module's tests share one client address: the per-client limits are tested apart
        api_sessions_per_minute=1000,
    )
    accounts = Services(settings, passwords=PasswordHashing.fast_for_tests()).accounts
    for name in ("a001", "b002"):
        accounts.add(name, AGENT_PASSWORD, ["agent"])
    accounts.add("t001", AGENT_PASSWORD, ["trainer"])
    return settings


@pytest.fixture(scope="module")
def client(api_settings: Settings) -> Iterator[TestClient]:
    services = Services(api_settings)
    with TestClient(create_app(services)) as client:  # runs the lifespan: chatbot warmed up
        yield client
    services.engine.dispose()


SECRETS: dict[str, str] = {}  # session id -> its secret, as a customer's client keeps it


def _session(client: TestClient) -> str:
    response = client.post("/v1/sessions", json={"channel": "app"})
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    assert response.headers["location"] == f"/v1/sessions/{session_id}"
    SECRETS[session_id] = response.json()["session_secret"]
    return session_id


def _owner(session_id: str) -> dict[str, str]:
    """The headers of the customer who started the session."""
    return {"X-Session-Secret": SECRETS.get(session_id, "unknown")}


def _agent(client: TestClient, username: str = "a001") -> dict[str, str]:
    """The headers of a logged-in agent."""
    response = client.post(
        "/v1/auth/token", json={"username": username, "password": AGENT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture(scope="module")
def injury_handoff(client: TestClient) -> dict[str, Any]:
    """One injury conversation handed to a human: the reply."""
    session_id = _session(client)
    response = client.post(
        f"/v1/sessions/{session_id}/messages",
        json={"text": INJURY_MESSAGE},
        headers=_owner(session_id),
    )
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def test_a_clause_question_is_answered_by_the_bot_with_citations(client: TestClient) -> None:
    session_id = _session(client)
    response = client.post(
        f"/v1/sessions/{session_id}/messages",
        json={"text": CLAUSE_QUESTION},
        headers=_owner(session_id),
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["route"] == "bot"
    assert reply["intent"] == "clause_query"
    assert reply["citations"]
    assert reply["handoff_id"] is None
    assert {"text", "source"}.isdisjoint(reply)

    session = client.get(f"/v1/sessions/{session_id}", headers=_owner(session_id)).json()
    assert [m["speaker"] for m in session["messages"]] == ["customer", "bot"]
    assert session["messages"][0]["text"] == CLAUSE_QUESTION
    assert session["messages"][1]["text"] == reply["answer"]
    assert session["handoff_id"] is None
    # internal state stays inside
    assert {"recent", "customer_id", "moods", "references"}.isdisjoint(session)


def test_an_injury_is_handed_over_and_queued_first_with_a_masked_transcript(
    client: TestClient, injury_handoff: dict[str, Any]
) -> None:
    assert injury_handoff["route"] == "human"
    assert "injury_emergency" in injury_handoff["reasons"]
    handoff_id = injury_handoff["handoff_id"]
    assert handoff_id

    agent = _agent(client)
    listed = client.get("/v1/handoffs", params={"state": "waiting"}, headers=agent).json()
    priorities = [h["priority"] for h in listed["items"]]
    assert priorities == sorted(priorities)
    assert listed["counts"]["waiting"] >= 1
    (item,) = [h for h in listed["items"] if h["id"] == handoff_id]
    assert item["priority"] == 0
    assert item["session_id"] == injury_handoff["session_id"]
    assert item["suggested_reply"]
    assert item["learned_only"] is False  # the injury rule handed it over, not the model alone
    customer_text = item["transcript"][0]["text"]
    assert "138****5678" in customer_text
    assert "13812345678" not in client.get(f"/v1/handoffs/{handoff_id}", headers=agent).text

    session_id = injury_handoff["session_id"]
    session = client.get(f"/v1/sessions/{session_id}", headers=_owner(session_id)).json()
    assert session["handoff_id"] == handoff_id


def test_one_agent_wins_the_accept_and_only_that_agent_resolves(
    client: TestClient, injury_handoff: dict[str, Any]
) -> None:
    url = f"/v1/handoffs/{injury_handoff['handoff_id']}"
    a001, b002 = _agent(client, "a001"), _agent(client, "b002")
    first = client.post(f"{url}/accept", headers=a001)
    assert first.status_code == 200, first.text
    assert first.json()["state"] == "accepted"
    assert first.json()["accepted_by"] == "a001"  # the authenticated agent, never a body field
    _error(client.post(f"{url}/accept", headers=b002), 409, "handoff_state_conflict")

    # the accepting agent talks to the customer; the customer's client reads it in the session
    reply = {"text": "您好，我是人工客服，请先确认已拨打120，我马上为您报案。"}
    _error(client.post(f"{url}/messages", json=reply, headers=b002), 409, "handoff_state_conflict")
    refused = client.post(f"{url}/messages", json={"text": "放心，肯定全赔。"}, headers=a001)
    _error(refused, 422, "reply_not_compliant")
    assert refused.json()["error"]["field"] == "text"
    _error(client.post(f"{url}/messages", json={}, headers=a001), 422, "validation_error")
    sent = client.post(f"{url}/messages", json=reply, headers=a001)
    assert sent.status_code == 201, sent.text
    assert (sent.json()["sender"], sent.json()["author"]) == ("agent", "a001")
    session_id = injury_handoff["session_id"]
    session = client.get(f"/v1/sessions/{session_id}", headers=_owner(session_id)).json()
    senders = [(m["sender"], m["text"]) for m in session["messages"]]
    assert senders[0][0] == "customer" and senders[1][0] == "bot"
    assert senders[-1] == ("agent", reply["text"])
    assert not any("全赔" in text for _, text in senders)

    resolve = {"resolution": "已联系客户，指导报警并安排查勘"}
    _error(client.post(f"{url}/resolve", json=resolve, headers=b002), 409, "handoff_state_conflict")
    done = client.post(f"{url}/resolve", json=resolve, headers=a001)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "resolved"
    assert done.json()["resolution"] == resolve["resolution"]
    _error(client.post(f"{url}/messages", json=reply, headers=a001), 409, "handoff_state_conflict")


def test_unknown_sessions_are_401_and_unknown_handoffs_404_in_the_one_error_shape(
    client: TestClient,
) -> None:
    # an unknown session answers like a wrong secret: guessing ids tells nothing
    unknown = {"X-Session-Secret": "whatever"}
    _error(
        client.post("/v1/sessions/Snope/messages", json={"text": "你好"}, headers=unknown),
        401,
        "session_secret_invalid",
    )
    _error(client.get("/v1/sessions/Snope", headers=unknown), 401, "session_secret_invalid")
    agent = _agent(client)
    _error(client.get("/v1/handoffs/Hnope", headers=agent), 404, "handoff_not_found")
    _error(client.post("/v1/handoffs/Hnope/accept", headers=agent), 404, "handoff_not_found")
    _error(client.get("/v1/nothing"), 404, "not_found")


def test_bad_messages_are_422_naming_the_field_and_big_bodies_are_413(client: TestClient) -> None:
    session_id = _session(client)
    url = f"/v1/sessions/{session_id}/messages"
    owner = _owner(session_id)
    for text in ("", "   ", "长" * 501):
        error = _error(
            client.post(url, json={"text": text}, headers=owner), 422, "validation_error"
        )
        assert error["field"] == "text"
        assert "text" in error["message"]
    assert (
        _error(client.post(url, json={}, headers=owner), 422, "validation_error")["field"] == "text"
    )
    # a name in the body is refused, never taken as the acting agent
    forged = client.post(
        "/v1/handoffs/Hx/resolve",
        json={"agent": "a001", "resolution": "x"},
        headers=_agent(client, "b002"),
    )
    assert _error(forged, 422, "validation_error")["field"] == "agent"
    _error(client.post(url, json={"text": "长" * 6000}, headers=owner), 413, "payload_too_large")
    # nothing was stored for the rejected messages
    assert client.get(f"/v1/sessions/{session_id}", headers=owner).json()["messages"] == []


def test_too_many_messages_are_429_with_retry_after(api_settings: Settings) -> None:
    services = Services(api_settings.model_copy(update={"chat_rate_limit": 3}))
    with TestClient(create_app(services)) as client:
        session_id = _session(client)
        url = f"/v1/sessions/{session_id}/messages"
        for _ in range(3):
            assert (
                client.post(url, json={"text": "你好"}, headers=_owner(session_id)).status_code
                == 200
            )
        response = client.post(url, json={"text": "你好"}, headers=_owner(session_id))
        _error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 60
    services.engine.dispose()


def test_openapi_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "PolicyDesk self-service API"
    assert schema["info"]["description"]
    assert set(schema["paths"]) == {
        "/v1/auth/token",
        "/v1/sessions",
        "/v1/sessions/{session_id}/messages",
        "/v1/sessions/{session_id}",
        "/v1/handoffs",
        "/v1/handoffs/{handoff_id}",
        "/v1/handoffs/{handoff_id}/accept",
        "/v1/handoffs/{handoff_id}/resolve",
        "/v1/handoffs/{handoff_id}/messages",
        "/v1/calls",
        "/v1/calls/{call_id}",
        "/v1/calls/{call_id}/segments",
        "/v1/calls/{call_id}/end",
        "/v1/calls/{call_id}/approvals",
        "/v1/approvals",
        "/v1/approvals/{approval_id}/decision",
        "/v1/contacts/{contact_id}",
        "/v1/contacts/{contact_id}/survey",
        "/v1/kpis",
        "/healthz",
        "/readyz",
        # member privileges (api/privileges.py)
        "/v1/customers/{customer_id}/privileges",
        "/v1/customers/{customer_id}/privileges/{key}/bookings",
        "/v1/customers/{customer_id}/privileges/bookings/{booking_id}",
        # self-service claim records (api/selfservice.py)
        "/v1/customers/{customer_id}/selfservice",
        "/v1/selfservice/withdrawals",
        "/v1/selfservice/withdrawals/{request_id}/decision",
        # uploads (api/uploads.py)
        "/v1/claims/{claim_no}/documents",
        "/v1/documents/{document_id}",
        "/v1/documents/{document_id}/thumbnail",
        "/v1/sessions/{session_id}/uploads",
    }
    text = schema["components"]["schemas"]["MessageIn"]["properties"]["text"]
    assert text["maxLength"] == 500
    assert client.get("/docs").status_code == 200


def test_a_restarted_app_still_lists_the_handoff(
    api_settings: Settings, injury_handoff: dict[str, Any]
) -> None:
    services = Services(api_settings)
    client = TestClient(create_app(services))
    listed = client.get("/v1/handoffs", params={"state": "all"}, headers=_agent(client)).json()
    assert injury_handoff["handoff_id"] in {h["id"] for h in listed["items"]}
    services.engine.dispose()


def test_the_api_keeps_answering_after_a_reingest_switches_collections(
    demo_services: Services, tmp_path: Path
) -> None:
    # a private copy of the whole demo data: the ingest below drops the collection it replaces
    services = Services(  # the same model: no second load
        private_demo(demo_services, tmp_path), embedder=demo_services.embedder
    )
    client = TestClient(create_app(services))
    session_id = _session(client)
    url = f"/v1/sessions/{session_id}/messages"
    owner = _owner(session_id)
    assert client.post(url, json={"text": CLAUSE_QUESTION}, headers=owner).status_code == 200

    passage = services.catalog.passages()[0]
    services.ingest.apply_items([passage.model_copy(update={"text": passage.text + "（修订）"})])
    again = client.post(url, json={"text": CLAUSE_QUESTION}, headers=owner)
    assert again.status_code == 200, again.text
    assert again.json()["citations"]
    services.engine.dispose()


def test_without_an_index_the_chat_is_503_and_health_says_not_ready(
    tmp_path: Path, model_dir: Path
) -> None:
    client = TestClient(
        create_app(Services(Settings(data_dir=tmp_path / "empty", embedding_model=model_dir)))
    )
    _error(client.post("/v1/sessions", json={}), 503, "index_not_built")
    health = client.get("/healthz").json()
    assert (health["status"], health["ready"], health["worker"]) == ("ok", False, os.getpid())


class _Broken:
    def start(self, channel: str, reminder: list[str] | None = None) -> None:
        raise RuntimeError(f"customer said {SECRET}")


class _BrokenServices(Services):
    """A chatbot that fails in an unexpected way; no index or model needed."""

    _retriever_stub = object()

    def retriever(self) -> HybridRetriever:
        return self._retriever_stub  # type: ignore[return-value]

    def chatbot(self) -> ChatbotService:
        return _Broken()  # type: ignore[return-value]


def test_an_unexpected_error_is_a_generic_500_and_its_message_is_not_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    services = _BrokenServices(settings, embedder=FakeEmbedder())
    client = TestClient(create_app(services))
    with caplog.at_level(logging.DEBUG):
        response = client.post("/v1/sessions")
    error = _error(response, 500, "internal_error")
    assert SECRET not in error["message"]
    assert "Traceback" not in response.text
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text


# ----- closed by default: the customer's session, personal data, identity lockout (issue 13) ---


def test_a_session_opens_only_with_its_secret_and_agents_never_see_it(
    client: TestClient, injury_handoff: dict[str, Any]
) -> None:
    session_id = injury_handoff["session_id"]
    secret = SECRETS[session_id]
    for headers in ({}, {"X-Session-Secret": "guessed"}, {"X-Session-Secret": secret[:-1]}):
        read = client.get(f"/v1/sessions/{session_id}", headers=headers)
        assert read.status_code == 401, read.text
        assert "138" not in read.text and "流血" not in read.text  # nothing of the conversation
        post = client.post(
            f"/v1/sessions/{session_id}/messages", json={"text": "你好"}, headers=headers
        )
        assert post.status_code == 401
    assert client.get(f"/v1/sessions/{session_id}", headers=_owner(session_id)).status_code == 200

    agent = _agent(client)
    handoff = client.get(f"/v1/handoffs/{injury_handoff['handoff_id']}", headers=agent)
    listed = client.get("/v1/handoffs", params={"state": "all"}, headers=agent)
    for response in (handoff, listed):
        assert secret not in response.text
        assert "13812345678" not in response.text  # every agent view is masked


def test_conversations_are_stored_redacted(
    client: TestClient, api_settings: Settings, injury_handoff: dict[str, Any]
) -> None:
    engine = create_engine(api_settings.sqlalchemy_url())
    with engine.connect() as connection:
        rows = connection.execute(select(conversations.c.payload)).scalars()
        payloads = [json.dumps(payload, ensure_ascii=False) for payload in rows]
    engine.dispose()
    assert any("138****5678" in p for p in payloads)
    assert not any("13812345678" in p for p in payloads)
    assert "13812345678" not in stored_text(api_settings.sqlalchemy_url())


def test_one_client_cannot_open_hundreds_of_sessions(api_settings: Settings) -> None:
    services = Services(api_settings.model_copy(update={"api_sessions_per_minute": 20}))
    # its own address: the limit counts per client, across every worker (in the database)
    with TestClient(create_app(services), client=("203.0.113.7", 40000)) as client:
        statuses = [client.post("/v1/sessions", json={}).status_code for _ in range(30)]
        assert statuses[:20] == [201] * 20
        assert set(statuses[20:]) == {429}
        refused = client.post("/v1/sessions", json={})
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    services.engine.dispose()


def _ask_progress(client: TestClient) -> str:
    session_id = _session(client)
    url = f"/v1/sessions/{session_id}/messages"
    asked = client.post(url, json={"text": "我的理赔进度怎么样了"}, headers=_owner(session_id))
    assert asked.json()["needs_identity"], asked.text
    return session_id


def _identify(client: TestClient, session_id: str, number: str, last4: str) -> dict[str, Any]:
    url = f"/v1/sessions/{session_id}/messages"
    response = client.post(url, json={"text": f"{number} {last4}"}, headers=_owner(session_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_five_wrong_answers_for_a_policy_lock_its_check_across_sessions(
    client: TestClient, api_settings: Settings
) -> None:
    services = Services(api_settings)
    services.customers.load_records(generate(12))
    profile = services.customers.profile("C00007")
    policy_no = profile.policies[0].policy_no
    right = profile.phone[-4:]  # the masked phone keeps its last four digits
    wrong = "0000" if right != "0000" else "1111"
    replies = []
    for _ in range(3):  # each conversation hands over after two failures; the count goes on
        session_id = _ask_progress(client)
        replies += [_identify(client, session_id, policy_no, wrong) for _ in range(2)]
    assert all(not r["verified"] for r in replies)
    # the sixth try, with the right digits, in a fresh conversation: the check stays locked
    session_id = _ask_progress(client)
    locked = _identify(client, session_id, policy_no, right)
    assert locked["route"] == "human" and not locked["verified"]
    assert "identity_locked" in locked["reasons"]
    entries = services.audit.entries(AuditFilter(action="identity.locked"))
    assert entries and policy_no not in entries[0].detail  # audited, without the number
    services.engine.dispose()
