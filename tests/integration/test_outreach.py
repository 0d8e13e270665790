"""车主秘书 end to end on a real database and real local webhooks: a second run of the same day
sends nothing twice; a failing webhook is retried with back-off, then reported (never silent);
opt-outs, quiet hours and the weekly cap hold; the CLI; privacy export and erase."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from audit.log import AuditFilter
from cli.main import main
from customers.demo import generate
from customers.store import CustomerNotFoundError
from db.schema import outreach_messages, outreach_reminders
from outreach.channels import SmsWebhook, WeChatTemplateWebhook
from outreach.models import (
    Channel,
    Feeds,
    MessageStatus,
    ReminderKind,
    TrafficViolation,
    WeatherWarning,
)
from outreach.planning import plan
from outreach.service import ReminderService
from services.root import Services

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 5)
MORNING = datetime(2026, 11, 5, 9, 0, tzinfo=ZONE)
RECORDS = generate(30)
FIRST = RECORDS["cust_customers"][0]
SECOND_PLATE = next(v["plate"] for v in RECORDS["cust_vehicles"] if v["customer_id"] != FIRST["id"])


def warning(wid: str = "W1", start: datetime = MORNING) -> WeatherWarning:
    return WeatherWarning(
        id=wid,
        city=FIRST["city"],
        kind="rainstorm",
        level="橙",
        starts=start - timedelta(hours=3),
        ends=start + timedelta(hours=12),
    )


FEEDS = Feeds(
    weather=[warning()],
    violations=[
        TrafficViolation(
            id="V1",
            plate=SECOND_PLATE,
            at=MORNING - timedelta(days=1),
            place="某路口",
            act="机动车违反规定停放",
            points=0,
            fine=150,
        )
    ],
)


@dataclass
class Hook:
    """A local webhook that fails the first ``fail`` requests (HTTP 500), then accepts."""

    fail: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return self.bodies[self.fail :]


@pytest.fixture
def hooks() -> Iterator[dict[Channel, Hook]]:
    made = {Channel.SMS: Hook(), Channel.WECHAT: Hook()}
    servers = []
    for hook in made.values():

        class Handler(BaseHTTPRequestHandler):
            target = hook

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                self.target.bodies.append(json.loads(self.rfile.read(length)))
                self.target.headers.append(dict(self.headers))
                failing = len(self.target.bodies) <= self.target.fail
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"gateway down" if failing else b"{}")

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        servers.append(server)
    yield made
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def centre(fake_services: Services) -> Services:
    fake_services.customers.load_records(RECORDS)
    return fake_services


def service(
    services: Services,
    hooks: dict[Channel, Hook] | None,
    feeds: Feeds = FEEDS,
    max_attempts: int = 3,
) -> ReminderService:
    adapters = {}
    if hooks is not None:
        adapters = {
            Channel.SMS: SmsWebhook(hooks[Channel.SMS].url, "secret-token"),
            Channel.WECHAT: WeChatTemplateWebhook(hooks[Channel.WECHAT].url, "tpl-1"),
        }
    return ReminderService(
        services.outreach_store,
        services.customers,
        services.audit,
        services.reminders.rules,
        lambda: feeds,
        adapters,
        ZONE,
        max_attempts=max_attempts,
        retry_seconds=60,
    )


def _count(services: Services, table: Any) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_second_run_of_the_same_day_sends_nothing_twice(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    job = service(centre, hooks)
    first = job.run(DAY, MORNING)
    assert first.queued > 0 and first.delivery.sent == first.queued
    assert first.by_kind[ReminderKind.WEATHER] >= 1 and first.by_kind[ReminderKind.VIOLATION] == 1
    messages, reminders = _count(centre, outreach_messages), _count(centre, outreach_reminders)
    posted = sum(len(h.bodies) for h in hooks.values())

    second = job.run(DAY, MORNING + timedelta(hours=1))
    assert second.queued == 0 and second.planned == 0
    assert second.skipped == {"already_sent": first.planned}
    assert second.delivery.sent == 0
    assert (_count(centre, outreach_messages), _count(centre, outreach_reminders)) == (
        messages,
        reminders,
    )
    assert sum(len(h.bodies) for h in hooks.values()) == posted
    # the next day, the same reminders are not sent again either
    assert (
        job.run(DAY + timedelta(days=1), MORNING + timedelta(days=1)).by_kind.get("weather") is None
    )


def test_a_parallel_run_loses_the_race_and_writes_nothing(centre: Services) -> None:
    store = centre.outreach_store
    [message, *_] = plan(
        [centre.customers.profile(FIRST["id"])],
        FEEDS,
        centre.reminders.rules,
        DAY,
        set(),
        [],
        {},
        MORNING,
        ZONE,
    ).messages
    assert store.queue(message, "190****0000", DAY, MORNING) is not None
    assert store.queue(message, "190****0000", DAY, MORNING) is None
    assert _count(centre, outreach_messages) == 1


def test_the_webhook_gets_the_full_number_the_outbox_only_the_masked_one(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    service(centre, hooks).run(DAY, MORNING)
    [sms] = [b for b in hooks[Channel.SMS].bodies if b["customer_id"] == FIRST["id"]]
    assert sms["phone"] == FIRST["phone"]
    assert hooks[Channel.SMS].headers[0]["Authorization"] == "Bearer secret-token"
    [row] = [m for m in centre.reminders.sent_to(FIRST["id"]) if m.channel is Channel.SMS]
    assert row.destination != FIRST["phone"] and row.destination.endswith(FIRST["phone"][-4:])
    assert "****" in row.destination and row.status is MessageStatus.SENT
    wechat = hooks[Channel.WECHAT].bodies
    assert all(b["template_id"] == "tpl-1" and b["data"]["first"] for b in wechat)


def test_a_failing_webhook_is_retried_with_back_off_then_sent(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    hooks[Channel.SMS].fail = 2  # the SMS gateway refuses its first two requests
    job = service(centre, hooks, max_attempts=3)
    report = job.run(DAY, MORNING)
    assert report.delivery.retrying == 2 and report.delivery.sent == report.queued - 2
    assert job.deliver(MORNING + timedelta(seconds=30)).sent == 0  # back-off not over
    later = job.deliver(MORNING + timedelta(seconds=61))
    assert later.sent == 2 and later.retrying == 0 and later.failed == 0
    sent = job.outbox(MessageStatus.SENT)
    assert len(sent) == report.queued
    assert sorted(m.attempts for m in sent)[-2:] == [2, 2]
    assert all(m.last_error == "" for m in sent)


def test_an_always_failing_webhook_is_reported_never_silent(
    centre: Services, hooks: dict[Channel, Hook], caplog: pytest.LogCaptureFixture
) -> None:
    hooks[Channel.SMS].fail = hooks[Channel.WECHAT].fail = 1000
    job = service(centre, hooks, max_attempts=3)
    first = job.run(DAY, MORNING)
    assert first.delivery.retrying == first.queued and first.delivery.failed == 0
    second = job.deliver(MORNING + timedelta(seconds=61))  # attempt 2, next after 120 s
    assert second.retrying == first.queued
    assert job.deliver(MORNING + timedelta(seconds=150)).retrying == 0  # not due yet
    with caplog.at_level(logging.ERROR, logger="outreach.service"):
        third = job.deliver(MORNING + timedelta(seconds=61 + 121))
    assert third.failed == first.queued and len(third.failures) == first.queued
    failed = job.outbox(MessageStatus.FAILED)
    assert {m.attempts for m in failed} == {3}
    assert all("HTTP 500" in m.last_error and "gateway down" in m.last_error for m in failed)
    assert sum(len(h.bodies) for h in hooks.values()) == 3 * first.queued
    audited = centre.audit.entries(AuditFilter(action="outreach.failed"))
    assert len(audited) == first.queued
    assert "failed after 3 attempts" in caplog.text
    assert FIRST["phone"] not in caplog.text
    # a failed message does not count towards the weekly cap and is not retried again
    assert job.deliver(MORNING + timedelta(days=1)).failed == 0


def test_without_a_channel_messages_stay_queued_with_the_reason(centre: Services) -> None:
    report = service(centre, None).run(DAY, MORNING)
    assert report.delivery.sent == 0 and report.delivery.failed == 0
    assert sum(report.delivery.waiting.values()) == report.queued
    queued = centre.reminders.outbox(MessageStatus.QUEUED)
    assert len(queued) == report.queued
    assert all("channel configured" in m.last_error and m.attempts == 0 for m in queued)


def test_opt_out_of_a_kind_or_of_everything(centre: Services, hooks: dict[Channel, Hook]) -> None:
    job = service(centre, hooks)
    assert job.opt_out(FIRST["id"], ReminderKind.WEATHER, MORNING)
    assert not job.opt_out(FIRST["id"], ReminderKind.WEATHER, MORNING)  # idempotent
    report = job.run(DAY, MORNING)
    assert report.skipped["opted_out"] == 1
    assert not [b for b in hooks[Channel.SMS].bodies if b["customer_id"] == FIRST["id"]]
    everyone = centre.audit.entries(AuditFilter(action="outreach.opt_out"))
    assert [(e.target, e.detail) for e in everyone] == [(FIRST["id"], "weather")]
    with pytest.raises(CustomerNotFoundError):
        job.opt_out("C99999", None, MORNING)


def test_quiet_hours_hold_messages_until_morning(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    job = service(centre, hooks)
    night = datetime(2026, 11, 5, 22, 30, tzinfo=ZONE)
    report = job.run(DAY, night)
    assert report.deferred == report.queued > 0
    assert report.delivery.sent == 0 and not any(h.bodies for h in hooks.values())
    assert job.deliver(datetime(2026, 11, 6, 7, 59, tzinfo=ZONE)).sent == 0
    morning = job.deliver(datetime(2026, 11, 6, 8, 0, tzinfo=ZONE))
    assert morning.sent == report.queued


def test_the_weekly_cap_holds_over_several_days(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    cap = centre.reminders.rules.weekly_cap
    got: list[int] = []
    for n in range(cap + 2):
        day = DAY + timedelta(days=n)
        now = MORNING + timedelta(days=n)
        job = service(centre, hooks, Feeds(weather=[warning(f"W{n}", now)]))
        report = job.run(day, now)
        got.append(len(job.sent_to(FIRST["id"])))
    # one new warning a day, five days in a row: the customer gets at most the cap in 7 days
    assert got[:cap] == list(range(1, cap + 1)) or got[cap - 1] == cap
    assert got[-1] == cap
    assert report.skipped["weekly_cap"] >= 1


def test_profile_views_and_kpi_counts(centre: Services, hooks: dict[Channel, Hook]) -> None:
    job = service(centre, hooks)
    report = job.run(DAY, MORNING)
    last = job.last_reminder(FIRST["id"])
    assert last is not None and last.kind is ReminderKind.WEATHER and last.day == DAY
    assert job.last_reminder("C99999") is None
    counts = job.proactive_counts(DAY, DAY)
    assert counts.messages == report.queued == counts.sent
    assert counts.reminders_by_kind == report.by_kind
    assert job.proactive_counts(DAY + timedelta(days=1), DAY + timedelta(days=2)).messages == 0


def _cli(services: Services, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["--data-dir", str(services.settings.data_dir), "reminders", *args], out=out)
    return status, out.getvalue()


def test_cli_run_twice_outbox_and_opt_out(
    centre: Services, hooks: dict[Channel, Hook], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    feed = tmp_path / "weather.jsonl"
    feed.write_text(warning().model_dump_json() + "\n", encoding="utf-8")
    monkeypatch.setenv("POLICYDESK_OUTREACH_WEATHER_FEED", str(feed))
    monkeypatch.setenv("POLICYDESK_OUTREACH_VIOLATION_FEED", "")
    monkeypatch.setenv("POLICYDESK_SMS_WEBHOOK_URL", hooks[Channel.SMS].url)
    status, text = _cli(centre, "opt-out", FIRST["id"], "--kind", "renewal")
    assert status == 0 and "opted out of renewal" in text
    status, text = _cli(centre, "run", "--date", "2026-11-05", "--json")
    assert status == 0
    first = json.loads(text)
    assert first["by_kind"]["weather"] >= 1 and first["queued"] >= 1
    status, text = _cli(centre, "run", "--date", "2026-11-05")
    assert status == 0 and " 0 queued in 0 messages" in text and "already_sent" in text
    status, text = _cli(centre, "outbox", "--json")
    rows = json.loads(text)
    assert len(rows) == first["queued"]
    assert all("****" in r["destination"] for r in rows)
    status, text = _cli(centre, "outbox", "--status", "failed")
    assert status == 0 and text == "no messages\n"


def test_cli_reports_a_failed_message_with_exit_1(
    centre: Services, hooks: dict[Channel, Hook], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    hooks[Channel.SMS].fail = 1000
    feed = tmp_path / "weather.jsonl"
    feed.write_text(warning().model_dump_json() + "\n", encoding="utf-8")
    monkeypatch.setenv("POLICYDESK_OUTREACH_WEATHER_FEED", str(feed))
    monkeypatch.setenv("POLICYDESK_OUTREACH_VIOLATION_FEED", "")
    monkeypatch.setenv("POLICYDESK_SMS_WEBHOOK_URL", hooks[Channel.SMS].url)
    monkeypatch.setenv("POLICYDESK_OUTREACH_MAX_ATTEMPTS", "1")
    status, text = _cli(centre, "run", "--date", "2026-11-05")
    assert status == 1 and "FAILED #" in text and "HTTP 500" in text
    status, text = _cli(centre, "outbox", "--status", "failed")
    assert status == 0 and "failed" in text and "HTTP 500" in text


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--date", "2026-13-01"],
        ["run", "--date", "tomorrow"],
        ["opt-out", "C00001", "--kind", "spam"],
        ["outbox", "--status", "lost"],
    ],
)
def test_cli_bad_arguments_are_usage_errors(
    centre: Services, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _cli(centre, *args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and args[-1] in err


def test_cli_opt_out_of_an_unknown_customer(centre: Services) -> None:
    status, _ = _cli(centre, "opt-out", "C99999")
    assert status == 1


def test_privacy_export_and_erase_cover_reminders(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    job = service(centre, hooks)
    job.run(DAY, MORNING)
    job.opt_out(FIRST["id"], None, MORNING)
    centre.accounts.add("s001", "Super-Pass-26", ["supervisor"])
    supervisor = centre.accounts.get("s001")
    assert supervisor is not None
    document = centre.privacy.export(supervisor, FIRST["id"])
    assert document["reminder_messages"] and document["reminders"]
    assert document["reminder_opt_outs"][0]["kind"] == "*"
    report = centre.privacy.erase(supervisor, FIRST["id"])
    assert report.deleted["reminder_messages"] >= 1 and report.deleted["reminders"] >= 1
    assert job.sent_to(FIRST["id"]) == [] and job.last_reminder(FIRST["id"]) is None
    # an erased customer is not reminded again
    job.run(DAY + timedelta(days=1), MORNING + timedelta(days=1))
    assert FIRST["id"] not in {m.customer_id for m in job.outbox()}


def test_kpis_show_the_proactive_contacts(centre: Services, hooks: dict[Channel, Hook]) -> None:
    report = service(centre, hooks).run(DAY, MORNING)
    out = io.StringIO()
    args = ["--data-dir", str(centre.settings.data_dir), "kpis", "--from", "2026-11-05"]
    assert main([*args, "--to", "2026-11-05", "--json"], out=out) == 0
    proactive = json.loads(out.getvalue())["proactive"]
    assert proactive["messages"] == report.queued and proactive["sent"] == report.queued
    assert proactive["reminders_by_kind"] == report.by_kind
    out = io.StringIO()
    assert main([*args, "--to", "2026-11-05"], out=out) == 0
    assert "主动触达" in out.getvalue()


def test_the_retention_purge_removes_old_reminders_and_messages(
    centre: Services, hooks: dict[Channel, Hook]
) -> None:
    report = service(centre, hooks).run(DAY, MORNING)
    days = centre.privacy.retention.call_days
    kept = centre.privacy.purge("test", now=MORNING + timedelta(days=days - 1))
    assert kept.removed["reminder_messages"] == 0
    purged = centre.privacy.purge("test", now=MORNING + timedelta(days=days + 1))
    assert purged.removed["reminder_messages"] == report.queued
    assert purged.removed["reminders"] == report.planned
    assert _count(centre, outreach_messages) == _count(centre, outreach_reminders) == 0
