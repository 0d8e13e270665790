"""The console's profile tab lists the reminders the customer was sent (车主秘书)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from outreach.models import Channel, PlannedMessage, PlannedReminder, ReminderKind
from services.root import Services
from tests.ui.conftest import texts
from tests.ui.test_console_page import _open, _raw_customer, _start_with_customer
from tests.ui.test_quality_pages import SUPERVISOR, _bot
from tests.ui.test_quality_pages import _open as _open_page

pytestmark = pytest.mark.integration


def _queue(services: Services, customer_id: str, key: str, body: str = "测试提醒") -> None:
    reminder = PlannedReminder(
        customer_id=customer_id,
        kind=ReminderKind.RENEWAL,
        key=key,
        priority=70,
        channel=Channel.WECHAT,
        text=body,
    )
    now = datetime.now(UTC)
    message = PlannedMessage(
        customer_id=customer_id,
        channel=Channel.WECHAT,
        reminders=[reminder],
        body=body,
        send_at=now,
    )
    today = now.astimezone(services.settings.centre_zone).date()
    assert services.outreach_store.queue(message, "190****0000", today, now) is not None


def test_the_profile_shows_the_reminders_sent(demo_pages: Services) -> None:
    customer_id, phone, _, plate = _raw_customer(demo_pages)
    body = f"王先生您好，车主秘书提醒您：\n您的车辆{plate}的保单将于2026年11月20日到期（测试）。"
    _queue(demo_pages, customer_id, f"renewal:ui-test-{customer_id}:15", body)
    app = _start_with_customer(_open(demo_pages), plate)
    assert any(e.label.startswith("车主秘书提醒") for e in app.expander)
    assert any(body == t.value for t in app.text)
    assert all(phone not in t.value for t in app.text)


def test_the_dashboard_shows_the_proactive_contacts(studio_services: Services) -> None:
    studio_services.quality.record(_bot("b-proactive", 1))  # a dashboard with contacts
    before = studio_services.reminders.proactive_counts(date(2000, 1, 1), date(2100, 1, 1))
    _queue(studio_services, "C00001", "renewal:ui-dash:30")
    app = _open_page(studio_services, "dashboard", SUPERVISOR)
    assert not app.exception, app.exception
    shown = texts(app)
    assert "主动触达（车主秘书）" in shown
    assert f"排队中 **{before.queued + 1}**" in shown
    assert f"renewal {before.reminders_by_kind.get('renewal', 0) + 1}" in shown
