"""A customer's rights and retention (PIPL): export everything, erase everything but what the law
keeps (anonymised), purge what outlived its retention; each run audited, each step idempotent."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.login import LoginAttempts
from audit.log import AuditFilter
from calls.models import NewCall, NewSegment
from chatbot.handoff import NewHandoff
from cli.main import main
from conversation.models import Speaker, Turn
from customers.demo import generate
from quality.models import (
    ContactKind,
    ContactRecord,
    ContactTurn,
    Evidence,
    ItemScore,
    Outcome,
    QaResult,
)
from services.root import Services

pytestmark = pytest.mark.integration

SUPERVISOR = "Super-Pass-26"


@pytest.fixture
def centre(fake_services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    services = fake_services
    services.customers.load_records(generate(3))
    services.accounts.add("s001", SUPERVISOR, ["supervisor"])
    services.accounts.add("a001", "Agent-Pass-26", ["agent"])
    monkeypatch.setenv("POLICYDESK_PASSWORD", SUPERVISOR)
    # C00001 chatted, was verified and handed over; C00002 chatted too
    for customer in ("C00001", "C00002"):
        conversation, _ = services.conversations.create("app")
        conversation.customer_id = customer
        conversation.turns = [Turn(speaker=Speaker.CUSTOMER, text=f"{customer}的理赔到哪了")]
        services.conversations.save(conversation, 1)
        services.handoffs.submit(
            NewHandoff(
                session_id=conversation.id,
                transcript=conversation.turns,
                intent="claim_progress",
                intent_label="理赔进度",
                reasons=["explicit_request"],
                reason_text=["客户要求人工服务"],
                suggested_reply="您好",
            )
        )
    services.customers.add_interaction("C00001", "客户询问理赔进度，已告知", "answered")
    # C00001 also called in; the transcript is kept with the call
    call = services.calls.start(NewCall(caller_number="19900001111", agent="a001",
                                        customer_id="C00001"))  # fmt: skip
    services.calls.add_segment(
        call.call_id,
        NewSegment(seq=0, speaker=Speaker.CUSTOMER, text="我的车被水淹了", final=False),
    )
    services.calls.end(call.call_id)
    return services


def _run(services: Services, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["--data-dir", str(services.settings.data_dir), "privacy", *args], out=out)
    return status, out.getvalue()


def test_a_supervisor_exports_everything_personal_about_a_customer(
    centre: Services, tmp_path: Path
) -> None:
    target = tmp_path / "C00001.json"
    status, printed = _run(centre, "--user", "s001", "export", "C00001", "--out", str(target))
    assert status == 0 and "exported C00001" in printed
    document = json.loads(target.read_text(encoding="utf-8"))
    assert len(document["customer"]["phone"]) == 11  # unmasked: it is the customer's own data
    assert document["policies"] and document["contacts"] and "claims" in document
    assert [c["conversation"]["customer_id"] for c in document["chats"]] == ["C00001"]
    assert len(document["handoffs"]) == 1
    (call,) = document["calls"]
    assert call["transcript"][0]["text"] == "我的车被水淹了" and call["ended_at"]
    assert centre.audit.entries(AuditFilter(action="privacy.export", target="C00001"))


def test_only_a_supervisor_may_export_or_erase(
    centre: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLICYDESK_PASSWORD", "Agent-Pass-26")
    assert _run(centre, "--user", "a001", "export", "C00001")[0] == 1
    assert "may not handle_privacy_requests" in capsys.readouterr().err


def test_erasure_keeps_what_the_law_requires_anonymised_and_deletes_the_rest(
    centre: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    before = centre.customers.profile("C00001")
    assert _run(centre, "--user", "s001", "erase", "C00001")[0] == 1
    assert "--yes" in capsys.readouterr().err
    assert centre.customers.profile("C00001").phone == before.phone  # nothing happened

    status, printed = _run(centre, "--user", "s001", "erase", "C00001", "--yes")
    assert status == 0 and "chats 1" in printed and "handoffs 1" in printed
    assert "calls 1" in printed and not centre.calls.calls()  # the call transcript is gone
    after = centre.customers.profile("C00001")
    assert (after.phone, after.id_number, after.name) == ("", "", "（已删除）")
    assert len(after.policies) == len(before.policies)  # contracts are kept
    assert all(p.plate.startswith("ERASED-") for p in after.policies)
    assert all(c.description.startswith("（已") for c in after.claims)
    assert after.interactions and {i.summary for i in after.interactions} == {
        "（已按客户要求删除）"
    }
    remaining = [h.session_id for h in centre.handoffs.list(None)]
    assert len(remaining) == 1  # the other customer's handoff is untouched
    assert centre.customers.profile("C00002").phone  # the other customer is untouched
    (entry,) = centre.audit.entries(AuditFilter(action="privacy.erase", target="C00001"))
    assert before.phone not in entry.detail

    again_status, again = _run(centre, "--user", "s001", "erase", "C00001", "--yes")
    assert again_status == 0 and "chats 0" in again and "vehicles 0" in again  # idempotent


def test_the_retention_purge_removes_only_what_is_due_and_is_idempotent(
    centre: Services,
) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    LoginAttempts(centre.engine).record("a001", "ip:x", False, old)
    LoginAttempts(centre.engine).record("a001", "ip:x", False, datetime.now(UTC))
    status, dry = _run(centre, "purge", "--dry-run")
    assert status == 0 and "would remove" in dry and "login_attempts 1" in dry
    status, first = _run(centre, "purge")
    assert status == 0 and "login_attempts 1" in first and "chat_conversations 0" in first
    assert _run(centre, "purge")[1].count(" 0") == first.count(" 0") + 1  # nothing more
    later = centre.privacy.purge("test", now=datetime.now(UTC) + timedelta(days=366))
    assert later.removed["chat_conversations"] == 2 and later.removed["chat_handoffs"] == 2
    assert later.removed["call_transcripts"] == 0  # kept for three years by default
    latest = centre.privacy.purge("test", now=datetime.now(UTC) + timedelta(days=1100))
    assert latest.removed["call_transcripts"] == 1 and latest.removed["call_segments"] == 1
    assert not centre.calls.calls()
    assert centre.audit.entries(AuditFilter(action="privacy.purge"))


def _quality_record(services: Services, contact_id: str, days_ago: int = 1) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    item = ItemScore(
        item="redlines",
        label="无红线",
        outcome=Outcome.FAIL,
        weight=2.0,
        evidence=[Evidence(turn=1, span="肯定全赔", source="guard:promise-full-payout")],
    )
    services.contacts.record(
        ContactRecord(
            id=contact_id,
            kind=ContactKind.AGENT,
            channel="phone",
            agent="a001",
            customer_id="C00001",
            started_at=at,
            ended_at=at + timedelta(minutes=3),
            handle_s=180.0,
            turns=[
                ContactTurn(speaker=Speaker.CUSTOMER, text="我的车被水淹了"),
                ContactTurn(speaker=Speaker.AGENT, text="您放心，肯定全赔"),
            ],
            qa=QaResult(scorecard="t", items=[item], score=0.0, redlines=1, scored_at=at),
        )
    )


def test_quality_records_are_exported_and_lose_their_words_but_keep_their_figures(
    centre: Services,
) -> None:
    _quality_record(centre, "call-q1")
    supervisor = centre.accounts.get("s001")
    exported = centre.privacy.export(supervisor, "C00001")
    assert any(r["id"] == "call-q1" and r["turns"] for r in exported["quality_records"])

    report = centre.privacy.erase(supervisor, "C00001")
    assert report.anonymised["quality_records"] == 1
    kept = centre.contacts.get("call-q1")
    assert kept.turns == [] and kept.qa is not None and kept.qa.redlines == 1
    assert kept.qa.items[0].evidence[0].span == ""  # the words are gone, the finding stays
    assert centre.privacy.erase(supervisor, "C00001").anonymised["quality_records"] == 0


def test_the_purge_strips_old_quality_transcripts_only(centre: Services) -> None:
    _quality_record(centre, "call-old", days_ago=1200)
    _quality_record(centre, "call-new", days_ago=1)
    dry = centre.privacy.purge("test", dry_run=True)
    assert dry.removed["quality_transcripts"] == 1 and centre.contacts.get("call-old").turns
    done = centre.privacy.purge("test")
    assert done.removed["quality_transcripts"] == 1
    assert centre.contacts.get("call-old").turns == [] and centre.contacts.get("call-new").turns
    assert centre.privacy.purge("test").removed["quality_transcripts"] == 0
