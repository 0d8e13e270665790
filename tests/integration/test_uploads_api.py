"""Uploads over HTTP: agents attach photos and documents to a claim and see thumbnails; the chat
client sends the customer's photos with the session secret; refused files get 413/415/422 in the
one error body and leave nothing behind."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from accounts.passwords import PasswordHashing
from api.app import create_app
from customers.demo import generate
from services.root import Services
from tests.unit.customers.test_uploads import PDF, jpeg, png

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"
CLAIM, OWNER, OTHERS_CLAIM = "RC20260424000050", "C00005", "RC20260829000060"


@pytest.fixture
def services(fake_services: Services) -> Services:
    fake_services.customers.load_records(generate(20))
    fake_services.accounts.add("a001", PASSWORD, ["agent"])
    fake_services.accounts.add("t001", PASSWORD, ["trainer"])
    return fake_services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    yield TestClient(create_app(services))  # no lifespan: uploads need no chatbot


def _as(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert "Traceback" not in response.text
    return error


def _session(services: Services, customer: str | None) -> tuple[str, dict[str, str]]:
    conversation, secret = services.conversations.create("app")
    if customer is not None:
        conversation.customer_id = customer
        services.conversations.save(conversation, 1)
    return conversation.id, {"X-Session-Secret": secret}


def test_an_agent_uploads_to_a_claim_lists_it_and_sees_the_thumbnail(
    client: TestClient, services: Services
) -> None:
    agent = _as(client, "a001")
    url = f"/v1/claims/{CLAIM}/documents"
    sent = client.post(
        url,
        files={"file": ("现场.jpg", jpeg(gps=True), "image/jpeg")},
        data={"keep_location": "true"},
        headers=agent,
    )
    assert sent.status_code == 201, sent.text
    document = sent.json()
    assert (document["claim_no"], document["customer_id"]) == (CLAIM, OWNER)
    assert document["uploaded_by"] == "a001" and document["gps"] is not None
    pdf = client.post(url, files={"file": ("保单.pdf", PDF, "application/pdf")}, headers=agent)
    assert pdf.status_code == 201, pdf.text

    listed = client.get(url, headers=agent)
    assert [d["id"] for d in listed.json()["items"]] == [document["id"], pdf.json()["id"]]

    thumb = client.get(f"/v1/documents/{document['id']}/thumbnail", headers=agent)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 240
    content = client.get(f"/v1/documents/{document['id']}", headers=agent)
    assert content.headers["content-type"] == "image/jpeg"
    assert content.headers["x-content-type-options"] == "nosniff"
    assert b"Exif" not in content.content
    assert client.get(f"/v1/documents/{pdf.json()['id']}", headers=agent).content == PDF
    _error(client.get(f"/v1/documents/{pdf.json()['id']}/thumbnail", headers=agent), 404,
           "no_thumbnail")  # fmt: skip
    _error(client.get("/v1/documents/U0", headers=agent), 404, "document_not_found")


def test_staff_routes_need_an_agent_and_a_known_claim(client: TestClient) -> None:
    files = {"file": ("a.jpg", jpeg(), "image/jpeg")}
    _error(client.post(f"/v1/claims/{CLAIM}/documents", files=files), 401, "unauthorized")
    trainer = _as(client, "t001")
    _error(client.get(f"/v1/claims/{CLAIM}/documents", headers=trainer), 403, "forbidden")
    agent = _as(client, "a001")
    _error(
        client.post("/v1/claims/RC0/documents", files=files, headers=agent), 404, "claim_not_found"
    )
    _error(client.get("/v1/claims/RC0/documents", headers=agent), 404, "claim_not_found")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 422, "upload_empty"),
        (b"MZ\x90\x00" + b"\x00" * 500, 415, "upload_type_not_allowed"),
        (jpeg()[:600], 422, "upload_unreadable"),
    ],
)
def test_a_bad_file_gets_a_clear_error_and_nothing_is_stored(
    client: TestClient, services: Services, data: bytes, status: int, code: str
) -> None:
    agent = _as(client, "a001")
    response = client.post(
        f"/v1/claims/{CLAIM}/documents",
        files={"file": ("photo.jpg", data, "image/jpeg")},  # the claimed type decides nothing
        headers=agent,
    )
    assert _error(response, status, code)["field"] == "file"
    assert services.uploads.for_claim(CLAIM) == []
    assert not services.settings.uploads_dir.exists() or not any(
        p.is_file() for p in services.settings.uploads_dir.rglob("*")
    )


def test_a_file_over_the_limit_is_413_naming_the_limit(
    services: Services, fake_embedder: Any
) -> None:
    small = Services(
        services.settings.model_copy(update={"upload_max_bytes": 2048}),
        embedder=fake_embedder,
        passwords=PasswordHashing.fast_for_tests(),
    )
    client = TestClient(create_app(small))
    agent = _as(client, "a001")
    just_over = PDF + b"0" * 2048
    response = client.post(
        f"/v1/claims/{CLAIM}/documents", files={"file": ("a.pdf", just_over)}, headers=agent
    )
    assert "2048" in _error(response, 413, "upload_too_large")["message"]
    far_over = b"%PDF-" + b"0" * 200_000  # beyond the body limit: refused before it is read
    response = client.post(
        f"/v1/claims/{CLAIM}/documents", files={"file": ("a.pdf", far_over)}, headers=agent
    )
    _error(response, 413, "payload_too_large")
    small.engine.dispose()


def test_the_customer_sends_a_photo_for_their_claim_from_the_chat(
    client: TestClient, services: Services
) -> None:
    session, secret = _session(services, OWNER)
    sent = client.post(
        f"/v1/sessions/{session}/uploads",
        files={"file": ("IMG_0001.JPG", jpeg(gps=True), "image/jpeg")},
        data={"claim_no": CLAIM},
        headers=secret,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["claim_no"] == CLAIM and sent.json()["kind"] == "photo"
    (stored,) = services.uploads.for_claim(CLAIM)
    assert stored.conversation_id == session and stored.customer_id == OWNER
    assert stored.uploaded_by == "customer" and stored.gps is not None  # the accident's place
    # without a claim: with the conversation only, and no position
    plain = client.post(
        f"/v1/sessions/{session}/uploads", files={"file": ("x.png", png())}, headers=secret
    )
    assert plain.status_code == 201, plain.text
    assert services.uploads.get(plain.json()["id"]).gps is None


def test_the_chat_upload_needs_the_secret_and_the_customer_s_own_claim(
    client: TestClient, services: Services
) -> None:
    files = {"file": ("a.jpg", jpeg(), "image/jpeg")}
    session, secret = _session(services, OWNER)
    url = f"/v1/sessions/{session}/uploads"
    _error(client.post(url, files=files), 401, "session_secret_required")
    _error(
        client.post(url, files=files, headers={"X-Session-Secret": "wrong"}),
        401,
        "session_secret_invalid",
    )
    others = client.post(url, files=files, data={"claim_no": OTHERS_CLAIM}, headers=secret)
    assert _error(others, 404, "claim_not_found")["field"] == "claim_no"
    anonymous, anonymous_secret = _session(services, None)
    unverified = client.post(
        f"/v1/sessions/{anonymous}/uploads",
        files=files,
        data={"claim_no": CLAIM},
        headers=anonymous_secret,
    )
    _error(unverified, 403, "identity_not_verified")
    assert services.uploads.for_claim(CLAIM) == []
    assert services.uploads.for_claim(OTHERS_CLAIM) == []
