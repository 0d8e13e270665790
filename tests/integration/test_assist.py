"""The assist pipeline over recorded demo calls, with the real encoder and the demo index."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from assist.calls import read_call
from cli.main import main
from conversation.models import Speaker, Turn
from core.settings import PROJECT_ROOT, Settings
from customers.demo import generate
from services.root import Services

pytestmark = pytest.mark.integration

CALLS = PROJECT_ROOT / "data" / "demo" / "calls"


@pytest.fixture(scope="module")
def services(demo_services: Services) -> Services:
    settings: Settings = demo_services.settings
    services = Services(settings)
    if not services.customers.count():
        services.customers.load_records(generate(40))
    return services


def _replay(services: Services, name: str, customer: str | None = None) -> list:
    session = services.assist_session(customer)
    lines = (CALLS / name).read_text(encoding="utf-8").splitlines()
    return [session.add(Turn.model_validate_json(line)) for line in lines if line.strip()]


def test_angry_refusal_call_alerts_once_per_reason_and_escalates(services: Services) -> None:
    results = _replay(services, "02_angry_refusal.jsonl", "C00001")
    caller = [r for r in results if r.speaker is Speaker.CUSTOMER]
    assert caller[0].mood.upset
    alerts = [r.alert for r in caller if r.alert is not None]
    assert alerts, "an angry refusal must raise an alert"
    assert all(a.script is not None for a in alerts)
    reasons = [tuple(a.reasons) for a in alerts]
    assert len(reasons) == len(set(reasons)), "the same alert must not repeat"
    assert any(r.intent.intent == "complaint" for r in caller)
    assert any(a.code == "escalate" for r in caller for a in r.actions)
    profile = services.customers.profile("C00001")
    assert all(profile.salutation in a.script.text for a in alerts if a.script)


def test_agent_red_line_is_flagged_and_suggestions_are_clean(services: Services) -> None:
    results = _replay(services, "01_flooded_garage.jsonl")
    agent_findings = [
        f.rule
        for r in results
        if r.speaker is Speaker.AGENT and r.compliance
        for f in r.compliance.findings
    ]
    assert "promise-full-payout" in agent_findings
    for result in results:
        if result.suggestion is not None:
            assert services.guard.check(result.suggestion.text).compliant
    flood = next(r for r in results if r.speaker is Speaker.CUSTOMER)
    assert flood.hits and flood.cases
    assert all(h.kind.value in ("clause", "faq") for h in flood.hits)
    assert all(c.kind.value == "case" for c in flood.cases)


def test_two_calls_do_not_share_state(services: Services) -> None:
    first = services.assist_session()
    second = services.assist_session()
    first.add(Turn(speaker=Speaker.CUSTOMER, text="你们这帮骗子，我要投诉！"))
    calm = second.add(Turn(speaker=Speaker.CUSTOMER, text="你好，我想问下续保怎么办理"))
    assert calm.mood.alert is None and not calm.mood.upset
    assert len(second.turns) == 1


def test_cli_contract_one_line_per_turn(services: Services, tmp_path: Path) -> None:
    data_dir = str(services.settings.data_dir)
    call = CALLS / "03_injury_scene.jsonl"
    out = io.StringIO()
    assert main(["--data-dir", data_dir, "assist", "--json", "--batch", str(call)], out=out) == 0
    lines = out.getvalue().splitlines()
    turns = [x for x in call.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(lines) == len(turns)
    for line in lines:
        payload = json.loads(line)
        for key in (
            "mood",
            "alert",
            "intent",
            "hits",
            "cases",
            "suggestion",
            "actions",
            "compliance",
        ):
            assert key in payload
    first = json.loads(lines[0])
    assert any(a["code"] == "safety" for a in first["actions"])


def test_cli_summary_states_the_facts_not_the_alert_reasons_nor_the_callers_words(
    services: Services,
) -> None:
    data_dir = str(services.settings.data_dir)
    call = CALLS / "02_angry_refusal.jsonl"
    out = io.StringIO()
    argv = ["--data-dir", data_dir, "assist", "--json", "--summary", "--batch", str(call)]
    assert main(argv, out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == len(read_call(call)) + 1
    summary = json.loads(lines[-1])
    text = summary["text"]
    for fact in (
        "事件：商业险被拒赔；网约车载客途中追尾",
        "要投诉（提及12378）",
        "已登记复核申请",
        "已登记投诉",
        "承诺三个工作日内回电",
        "下一步：复核结果书面告知客户",
        "处理结果：已登记投诉",
    ):
        assert fact in text
    assert summary["disposition"] == "已登记投诉"
    assert summary["alerts"]  # the angry caller raised alerts; the summary does not repeat them
    assert not any(alert in text or part in text for alert in summary["alerts"]
                   for part in alert.split("；"))  # fmt: skip
    assert "凭什么不赔" not in text and "客户来电称" not in text


def test_cli_bad_call_file_names_the_line(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "call.jsonl"
    bad.write_text(
        '{"speaker": "customer", "text": "你好"}\n{"speaker": "robot", "text": "x"}\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    status = main(
        ["--data-dir", str(services.settings.data_dir), "assist", "--batch", str(bad)], out=out
    )
    assert status == 1 and out.getvalue() == ""
    assert "line 2" in capsys.readouterr().err


def test_a_configured_llm_phrases_the_reply_through_the_guard(services: Services) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    llm = FakeListChatModel(responses=["您放心，这个肯定全赔。"])
    session = services.assist_session("C00001", llm=llm)
    view = session.add(Turn(speaker=Speaker.CUSTOMER, text="车在地库被水泡了能赔吗"))
    assert view.suggestion is not None
    assert view.suggestion.source == "llm" and view.suggestion.rewritten
    assert "全赔" not in view.suggestion.text
    assert services.guard.check(view.suggestion.text).compliant
    assert view.suggestion.citations  # still grounded in the retrieved clauses

    stray = FakeListChatModel(responses=["这种情况一般3天内赔您12345元。"])
    view = services.assist_session("C00001", llm=stray).add(
        Turn(speaker=Speaker.CUSTOMER, text="车在地库被水泡了能赔吗")
    )
    assert view.suggestion is not None and view.suggestion.source == "template"
    assert "12345" in view.suggestion.note and "12345" not in view.suggestion.text


def test_clause_searches_follow_the_customers_policy_date(services: Services) -> None:
    from datetime import date

    summary = services.customers.list(1)[0]
    profile = services.customers.profile(summary.id)
    expected = profile.clause_date(date.today())
    assert expected is not None
    session = services.assist_session(summary.id)
    seen: list[object] = []
    conversation = session._conversation  # record what the pipeline asks the search for
    cards = conversation.cards

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("as_of"))
        return cards(*args, **kwargs)

    conversation.cards = recording  # type: ignore[method-assign]
    try:
        session.add(Turn(speaker=Speaker.CUSTOMER, text="车被水淹了能赔吗"))
    finally:
        del conversation.cards  # the search is shared by the snapshot
    assert seen == [expected]
    anonymous = services.assist_session(None)
    assert anonymous._as_of is None
