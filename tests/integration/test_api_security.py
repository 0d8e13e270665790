"""Closed by default: every agent endpoint needs an agent's token, the acting agent is the one the
token names, integrations use scoped and revocable API keys, logins are throttled.

Each test reproduces a finding of the security review (issue 13) against the real API over a real
SQLite database; none needs the chatbot's models (the handoff endpoints do not use them).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accounts.tokens import TokenIssuer
from api.app import create_app
from audit.log import AuditFilter
from chatbot.handoff import NewHandoff
from cli.main import main
from conversation.models import Speaker, Turn
from core.settings import Settings
from services.root import Services
from tests.conftest import stored_text

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"
PHISHING = "请通过链接 http://pay-check.example.com 上传身份证正反面和银行卡照片"


@pytest.fixture
def services(fake_services: Services) -> Services:
    accounts = fake_services.accounts
    accounts.add("a001", PASSWORD, ["agent"])
    accounts.add("b002", PASSWORD, ["agent"])
    accounts.add("t001", PASSWORD, ["trainer"])
    return fake_services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    yield TestClient(create_app(services))  # no lifespan: the handoff routes need no chatbot


@pytest.fixture
def handoff(services: Services) -> str:
    """A waiting handoff of a real conversation."""
    started, _ = services.conversations.create("app")
    turn = Turn(speaker=Speaker.CUSTOMER, text="我要找人工，手机13812345678")
    new = NewHandoff(
        session_id=started.id,
        transcript=[turn],
        intent="to_human",
        intent_label="转人工",
        reasons=["explicit_request"],
        reason_text=["客户要求人工服务"],
        suggested_reply="您好，我是人工客服。",
    )
    return services.handoffs.submit(new).id


def _token(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/v1/auth/token", json={"username": username, "password": password})


def _as(client: TestClient, username: str) -> dict[str, str]:
    response = _token(client, username)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _status(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


def test_with_nothing_configured_every_agent_endpoint_answers_401(
    client: TestClient, handoff: str
) -> None:
    url = f"/v1/handoffs/{handoff}"
    calls = [
        client.get("/v1/handoffs"),
        client.get(url),
        client.post(f"{url}/accept"),
        client.post(f"{url}/resolve", json={"resolution": "done"}),
        client.post(f"{url}/messages", json={"text": PHISHING}),
    ]
    for response in calls:
        _status(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert "13812345678" not in response.text and "138****5678" not in response.text


def test_the_acting_agent_is_the_token_s_user_and_a_forged_name_is_refused(
    client: TestClient, services: Services, handoff: str
) -> None:
    url = f"/v1/handoffs/{handoff}"
    b002 = _as(client, "b002")
    # the finding: anyone could accept "as" someone else by naming them in the body
    forged = client.post(f"{url}/accept", json={"agent": "a001"}, headers=b002)
    assert _status(forged, 422, "validation_error")["field"] == "agent"
    accepted = client.post(f"{url}/accept", headers=b002)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted_by"] == "b002"
    # the phishing reply of the finding is stopped by the guard, even from the right agent
    blocked = client.post(f"{url}/messages", json={"text": PHISHING}, headers=b002)
    assert _status(blocked, 422, "reply_not_compliant")["field"] == "text"
    # and the conversation got nothing of it
    conversation = services.conversations.load(services.handoffs.get(handoff).session_id)[0]
    assert [t.speaker for t in conversation.turns] == []


def test_roles_come_from_the_permission_matrix(client: TestClient, handoff: str) -> None:
    trainer = _as(client, "t001")
    _status(client.get("/v1/handoffs", headers=trainer), 403, "forbidden")
    assert client.get("/v1/handoffs", headers=_as(client, "a001")).status_code == 200


def test_tokens_are_short_lived_signed_and_follow_the_account(
    client: TestClient, services: Services
) -> None:
    token = _token(client, "a001").json()
    assert 0 < token["expires_in"] <= 15 * 60
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/v1/handoffs", headers=headers).status_code == 200

    issued_long_ago = services.token_issuer.issue(
        "a001", now=datetime.now(UTC) - timedelta(hours=1)
    )
    expired = {"Authorization": f"Bearer {issued_long_ago.token}"}
    _status(client.get("/v1/handoffs", headers=expired), 401, "unauthorized")

    forged_key = TokenIssuer(b"x" * 32, timedelta(minutes=5)).issue("a001").token
    forged = {"Authorization": f"Bearer {forged_key}"}
    _status(client.get("/v1/handoffs", headers=forged), 401, "unauthorized")

    services.accounts.deactivate("a001")  # takes effect at once, valid token or not
    _status(client.get("/v1/handoffs", headers=headers), 401, "unauthorized")
    _status(_token(client, "a001"), 401, "unauthorized")


def test_thirty_wrong_passwords_then_the_right_one_do_not_log_in(
    client: TestClient, services: Services
) -> None:
    statuses = [_token(client, "a001", "Wrong-Guess-2026").status_code for _ in range(30)]
    # a few honest typos cost nothing; then a growing delay; a lockout; the endpoint's own
    # per-client limit also stops a flood
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses[3:]) <= {401, 429}
    assert 429 in statuses
    right = _token(client, "a001")
    _status(right, 429, right.json()["error"]["code"])
    assert int(right.headers["retry-after"]) >= 1
    actions = {e.action for e in services.audit.entries(AuditFilter(target="a001"))}
    assert {"auth.login_failed", "auth.refused_delay"} <= actions


def _apikey(data_dir: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["--data-dir", str(data_dir), "apikey", *args], out=out)
    return status, out.getvalue()


def test_api_keys_are_shown_once_stored_hashed_scoped_revocable_and_audited(
    client: TestClient, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = services.settings.data_dir
    status, printed = _apikey(data_dir, "create", "wechat-backend", "--scope", "chat", "--json")
    assert status == 0
    created = json.loads(printed)
    assert set(created) == {"name", "scope", "key"}
    assert created["scope"] == "chat" and created["key"].startswith("pdk_chat_")
    key = created["key"]
    status, _ = _apikey(data_dir, "create", "telephony", "--scope", "calls", "--json")
    assert status == 0

    # only a hash is stored
    url = services.settings.sqlalchemy_url()
    assert key not in stored_text(url)
    if url.startswith("sqlite:///"):  # nor anywhere in the file (a freed page, the log)
        assert key.encode() not in (data_dir / "policydesk.db").read_bytes()

    listed = _apikey(data_dir, "list")[1]
    assert "wechat-backend" in listed and "chat" in listed and key not in listed

    # a key is not an agent: it cannot act on handoffs
    bearer = {"Authorization": f"Bearer {key}"}
    _status(client.get("/v1/handoffs", headers=bearer), 403, "forbidden")
    uses = services.audit.entries(AuditFilter(actor="apikey:wechat-backend"))
    assert uses and uses[0].action == "apikey.use" and uses[0].target == "/v1/handoffs"

    assert _apikey(data_dir, "revoke", "wechat-backend")[0] == 0
    _status(client.get("/v1/handoffs", headers=bearer), 401, "unauthorized")
    assert _apikey(data_dir, "revoke", "wechat-backend")[0] == 1
    assert "no active key" in capsys.readouterr().err
    assert _apikey(data_dir, "create", "bad", "--scope", "root")[0] == 1
    assert "unknown scope 'root'" in capsys.readouterr().err


def test_the_retired_shared_token_setting_is_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLICYDESK_API_AGENT_TOKEN", "s3cret")
    with pytest.raises(ValueError, match="POLICYDESK_API_AGENT_TOKEN is retired"):
        Settings()


def test_every_operation_documents_its_400_and_its_security(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "400" in operation["responses"], f"{method.upper()} {path}"
    handoff_list = schema["paths"]["/v1/handoffs"]["get"]
    assert handoff_list["security"] == [{"HTTPBearer": []}]
    assert {"401", "403"} <= set(handoff_list["responses"])
