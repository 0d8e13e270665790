"""The console's profile tab lists the reminders the customer was sent (车主秘书)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from outreach.models import Channel, PlannedMessage, PlannedReminder, ReminderKind
from services.root import Services
from tests.ui.test_console_page import _open, _raw_customer, _start_with_customer

pytestmark = pytest.mark.integration


def test_the_profile_shows_the_reminders_sent(demo_pages: Services) -> None:
    customer_id, phone, _, plate = _raw_customer(demo_pages)
    body = f"王先生您好，车主秘书提醒您：\n您的车辆{plate}的保单将于2026年11月20日到期（测试）。"
    reminder = PlannedReminder(
        customer_id=customer_id,
        kind=ReminderKind.RENEWAL,
        key=f"renewal:ui-test-{customer_id}:15",
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
    assert demo_pages.outreach_store.queue(message, "190****0000", date.today(), now) is not None
    app = _start_with_customer(_open(demo_pages), plate)
    assert any(e.label.startswith("车主秘书提醒") for e in app.expander)
    assert any(body == t.value for t in app.text)
    assert all(phone not in t.value for t in app.text)
