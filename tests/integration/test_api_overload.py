"""Back-pressure and metrics through the HTTP API, over the demo index and the real encoder.

The encoder sits behind a micro-batcher with a queue of one; a gate in front of the real encoder
holds one pass while a second request fills the queue, so that a customer message arriving then
is refused (503 with Retry-After) without anything of it being stored. ``GET /metrics`` is then
scraped to see the request, encoder, refusal and handoff-wait series move.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from accounts.passwords import PasswordHashing
from api.app import create_app
from core.settings import Settings
from core.telemetry import Telemetry
from retrieval.batching import BatchingEmbedder
from services.root import Services
from tests.conftest import with_private_database
from tests.fakes import GatedEmbedder, metric_value

pytestmark = pytest.mark.integration

MESSAGES_ROUTE = "/v1/sessions/{session_id}/messages"
QUESTION = "车损险都包括哪些情况"
INJURY_MESSAGE = "撞人了对方在流血怎么办"
AGENT_PASSWORD = "Desk-Agent-2026"
RETRY_AFTER = 2


class Overloadable:
    """The API over a batcher with a queue of one, and the gate that can fill it."""

    def __init__(self, demo_services: Services, settings: Settings) -> None:
        self.telemetry = Telemetry()
        self.gated = GatedEmbedder(demo_services.embedder)
        self.batcher = BatchingEmbedder(
            self.gated, max_queue=1, retry_after=RETRY_AFTER, telemetry=self.telemetry
        )
        self.services = Services(
            settings,
            embedder=self.batcher,
            passwords=PasswordHashing.fast_for_tests(),
            telemetry=self.telemetry,
        )


@pytest.fixture(scope="module")
def api(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Overloadable:
    settings = with_private_database(
        demo_services.settings, tmp_path_factory.mktemp("overload"), api_sessions_per_minute=1000
    )
    api = Overloadable(demo_services, settings)
    api.services.accounts.add("a001", AGENT_PASSWORD, ["agent"])
    return api


@pytest.fixture(scope="module")
def client(api: Overloadable) -> Iterator[TestClient]:
    with TestClient(create_app(api.services)) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:  # the warm-up embeds through the gate
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.1)
        yield client
    api.services.engine.dispose()
    api.batcher.close()  # injected, so ours to stop (the root stops only what it built)


def _session(client: TestClient) -> tuple[str, dict[str, str]]:
    created = client.post("/v1/sessions", json={"channel": "app"})
    assert created.status_code == 201, created.text
    body = created.json()
    return body["session_id"], {"X-Session-Secret": body["session_secret"]}


def _speakers(client: TestClient, session_id: str, owner: dict[str, str]) -> list[str]:
    session = client.get(f"/v1/sessions/{session_id}", headers=owner)
    assert session.status_code == 200, session.text
    return [m["speaker"] for m in session.json()["messages"]]


def _scrape(client: TestClient) -> bytes:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.content


def test_a_full_encoder_queue_answers_503_with_retry_after_and_stores_nothing(
    api: Overloadable, client: TestClient
) -> None:
    session_id, owner = _session(client)
    url = f"/v1/sessions/{session_id}/messages"
    first = client.post(url, json={"text": QUESTION}, headers=owner)
    assert first.status_code == 200, first.text
    assert _speakers(client, session_id, owner) == ["customer", "bot"]
    before = _scrape(client)

    with ThreadPoolExecutor(max_workers=2) as pool:
        api.gated.entered.clear()
        api.gated.gate.clear()
        busy = pool.submit(api.batcher.embed_queries, ["占住编码器"])
        assert api.gated.entered.wait(10)  # one pass in the encoder, held
        queued = pool.submit(api.batcher.embed_queries, ["排队等待"])
        deadline = time.monotonic() + 10
        while api.batcher.waiting < 1:  # the queue of one is full
            assert time.monotonic() < deadline
            time.sleep(0.001)

        refused = client.post(url, json={"text": "玻璃单独破碎赔不赔"}, headers=owner)

        api.gated.gate.set()
        busy.result(timeout=30)
        queued.result(timeout=30)

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == str(RETRY_AFTER)
    assert refused.json() == {
        "error": {
            "code": "overloaded",
            "message": f"the text encoder is busy; please try again in {RETRY_AFTER} s",
            "field": None,
        }
    }
    # neither the refused message nor a reply to it was stored ...
    assert _speakers(client, session_id, owner) == ["customer", "bot"]
    # ... so sending it again simply works
    again = client.post(url, json={"text": "玻璃单独破碎赔不赔"}, headers=owner)
    assert again.status_code == 200, again.text
    assert _speakers(client, session_id, owner) == ["customer", "bot", "customer", "bot"]

    after = _scrape(client)
    route = {"route": MESSAGES_ROUTE, "method": "POST"}
    name = "policydesk_http_request_duration_seconds_count"

    def moved(series: str, **labels: str) -> float:
        return metric_value(after, series, **labels) - metric_value(before, series, **labels)

    assert moved("policydesk_overload_rejections_total", queue="encoder") == 1
    assert moved(name, **route, status="503") == 1
    assert moved(name, **route, status="200") == 1
    # the two held requests and the retried message, at least two batches
    assert moved("policydesk_encoder_batch_requests_sum") >= 3
    assert moved("policydesk_encoder_batch_requests_count") >= 2


def test_requests_are_timed_by_route_template_never_by_raw_path(client: TestClient) -> None:
    session_id, owner = _session(client)
    client.get(f"/v1/sessions/{session_id}", headers=owner)
    client.get("/no/such/path")
    body = _scrape(client)
    count = "policydesk_http_request_duration_seconds_count"
    assert (
        metric_value(body, count, route="/v1/sessions/{session_id}", method="GET", status="200")
        >= 1
    )
    assert metric_value(body, count, route="unmatched", method="GET", status="404") >= 1
    assert session_id.encode() not in body


def test_an_accepted_handoff_records_its_wait(client: TestClient) -> None:
    session_id, owner = _session(client)
    reply = client.post(
        f"/v1/sessions/{session_id}/messages", json={"text": INJURY_MESSAGE}, headers=owner
    )
    assert reply.status_code == 200, reply.text
    handoff_id = reply.json()["handoff_id"]
    assert handoff_id is not None
    before = metric_value(_scrape(client), "policydesk_handoff_wait_seconds_count")

    token = client.post(
        "/v1/auth/token", json={"username": "a001", "password": AGENT_PASSWORD}
    ).json()["access_token"]
    accepted = client.post(
        f"/v1/handoffs/{handoff_id}/accept", headers={"Authorization": f"Bearer {token}"}
    )
    assert accepted.status_code == 200, accepted.text

    after = _scrape(client)
    assert metric_value(after, "policydesk_handoff_wait_seconds_count") == before + 1
    assert metric_value(after, "policydesk_handoff_wait_seconds_sum") >= 0
