"""Every finished contact scored, end to end: a call through the live-call API appears scored as
soon as it ends, a console call's saved wrap-up reaches its record, the post-call survey and the
KPIs over HTTP and on the command line."""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from accounts.passwords import PasswordHashing
from api.app import create_app
from cli.quality import cmd_kpis
from conversation.models import Speaker
from core.errors import PolicyDeskError
from core.settings import Settings
from customers.demo import generate
from quality.models import Outcome
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration

PASSWORD = "Desk-Agent-2026"
REQUIRED = [
    "fcr",
    "repeat_contact_7d",
    "aht_s",
    "upset_rate",
    "recovery_rate",
    "handoff_rate",
    "containment",
    "complaint_rate",
    "qa_score",
    "redlines_per_100",
    "nps",
    "csat",
]


@pytest.fixture(scope="module")
def services(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Services:
    settings: Settings = with_private_database(
        demo_services.settings, tmp_path_factory.mktemp("quality")
    )
    services = Services(
        settings, embedder=demo_services.embedder, passwords=PasswordHashing.fast_for_tests()
    )
    if not services.customers.count():
        services.customers.load_records(generate(20))
    services.accounts.add("q041", PASSWORD, ["agent"])
    services.accounts.add("q042", PASSWORD, ["agent"])
    services.accounts.add("s049", PASSWORD, ["supervisor"])
    return services


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


@pytest.fixture(scope="module")
def telephony(services: Services) -> dict[str, str]:
    key = services.api_keys.create("telephony-q", "calls", created_by="test").key
    return {"Authorization": f"Bearer {key}"}


def _login(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


CALL = [
    ("agent", "喂，什么事？"),
    ("customer", "我的车被撞了三天了还没人来定损，你们到底管不管！"),
    ("agent", "您放心，这个肯定全赔，我保证一分不少。"),
    ("customer", "那什么时候来人？"),
    ("agent", "等通知吧。"),
]


def test_a_call_through_the_api_is_scored_as_soon_as_it_ends(
    client: TestClient, telephony: dict[str, str]
) -> None:
    opened = client.post(
        "/v1/calls", json={"caller_number": "13800000000", "agent": "q041"}, headers=telephony
    )
    assert opened.status_code == 201, opened.text
    call_id = opened.json()["call_id"]
    for seq, (speaker, text) in enumerate(CALL):
        posted = client.post(
            f"/v1/calls/{call_id}/segments",
            json={"seq": seq, "speaker": speaker, "text": text, "final": True},
            headers=telephony,
        )
        assert posted.status_code == 200, posted.text
    supervisor = _login(client, "s049")
    assert client.get(f"/v1/contacts/{call_id}", headers=supervisor).status_code == 404  # live

    ended_at = time.perf_counter()
    assert client.post(f"/v1/calls/{call_id}/end", headers=telephony).status_code == 200
    contact = client.get(f"/v1/contacts/{call_id}", headers=supervisor)
    visible_after = time.perf_counter() - ended_at
    assert contact.status_code == 200, contact.text
    body = contact.json()
    items = {i["item"]: i for i in body["qa"]["items"]}
    assert len(items) == 7 and visible_after < 5
    assert items["greeting_identity"]["outcome"] == "fail"  # "喂，什么事？" greets nobody
    assert items["redlines"]["outcome"] == "fail" and body["qa"]["redlines"] >= 1
    evidence = items["redlines"]["evidence"][0]
    assert evidence["turn"] == 2 and evidence["source"].startswith("guard:")
    assert "全赔" in evidence["span"] or "保证" in evidence["span"]
    assert items["closing"]["outcome"] == "fail"
    assert body["qa"]["score"] is not None and body["qa"]["score"] < 60
    assert body["agent"] == "q041" and body["kind"] == "agent"

    # the agent reads their own; another agent does not learn it exists
    assert client.get(f"/v1/contacts/{call_id}", headers=_login(client, "q041")).status_code == 200
    assert client.get(f"/v1/contacts/{call_id}", headers=_login(client, "q042")).status_code == 404

    # the IVR's post-call survey
    survey = client.post(f"/v1/contacts/{call_id}/survey", json={"nps": 3}, headers=telephony)
    assert survey.status_code == 200 and survey.json()["survey"] == {"nps": 3, "csat": None}
    survey = client.post(f"/v1/contacts/{call_id}/survey", json={"csat": 2}, headers=telephony)
    assert survey.json()["survey"] == {"nps": 3, "csat": 2}  # the second answer adds to the first
    empty = client.post(f"/v1/contacts/{call_id}/survey", json={}, headers=telephony)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_survey"
    wrong = client.post(f"/v1/contacts/{call_id}/survey", json={"nps": 11}, headers=telephony)
    assert wrong.status_code == 422
    unknown = client.post("/v1/contacts/nope/survey", json={"nps": 9}, headers=telephony)
    assert unknown.status_code == 404


def test_the_kpis_over_http_are_for_supervisors(client: TestClient) -> None:
    supervisor = _login(client, "s049")
    report = client.get("/v1/kpis", headers=supervisor)
    assert report.status_code == 200, report.text
    metrics = report.json()["metrics"]
    assert set(REQUIRED) <= set(metrics)
    assert all({"value", "definition", "n"} <= set(metrics[m]) for m in REQUIRED)
    assert client.get("/v1/kpis", headers=_login(client, "q041")).status_code == 403
    backwards = client.get("/v1/kpis?from=2026-12-06&to=2026-12-01", headers=supervisor)
    assert backwards.status_code == 422 and "before it starts" in backwards.text


def test_a_console_call_is_recorded_at_its_end_and_again_with_its_wrap_up(
    services: Services,
) -> None:
    agent = services.accounts.get("q041")
    desk = services.desk()
    customer = services.customers.list(limit=1)[0].id
    call = desk.open_console_call(agent, customer)
    for speaker, text in [
        (Speaker.AGENT, "您好，欢迎致电，请问有什么可以帮您？"),
        (Speaker.CUSTOMER, "我想问一下玻璃单独碎了车损险赔不赔。"),
        (Speaker.AGENT, "2020年改革以后，玻璃单独破碎在车损险里就能赔。还有其他可以帮您的吗？"),
    ]:
        desk.say(agent, call.id, speaker, text)
    desk.finish(agent, call.id)
    recorded = services.quality.find(call.id)
    assert recorded is not None and recorded.disposition == "" and recorded.qa is not None
    assert recorded.qa.item("disposition").outcome is Outcome.NA  # type: ignore[union-attr]

    desk.save_wrap_up(agent, call.id, "客户咨询玻璃单独破碎的保障，已解答。", "已解答")
    saved = services.quality.find(call.id)
    assert saved is not None and saved.disposition == "已解答" and saved.acw_s >= 0
    assert saved.qa is not None and saved.qa.item("disposition").outcome is not Outcome.NA  # type: ignore[union-attr]


def test_policydesk_kpis_prints_the_documented_json(services: Services) -> None:
    out = io.StringIO()
    args = argparse.Namespace(start=None, end=None, team=None, agent="q041", json=True)
    assert cmd_kpis(services, args, out) == 0
    body = json.loads(out.getvalue())
    assert body["period"]["agent"] == "q041" and set(REQUIRED) <= set(body["metrics"])
    assert body["metrics"]["aht_s"]["n"] >= 1  # the calls above
    assert all(set(v) == {"value", "definition", "n"} for v in body["metrics"].values())
    bad = argparse.Namespace(start="2026-13-01", end=None, team=None, agent=None, json=True)
    with pytest.raises(PolicyDeskError, match="--from must be a date like"):
        cmd_kpis(services, bad, io.StringIO())
