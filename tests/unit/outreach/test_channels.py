"""The channel adapters: what each posts, and that any failure is a ``DeliveryError``
(httpx.MockTransport: no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from core.errors import PolicyDeskError
from outreach.channels import DeliveryError, SmsWebhook, WeChatTemplateWebhook
from outreach.models import Channel, MessageStatus, OutboxMessage, ReminderKind

MESSAGE = OutboxMessage(
    id=7,
    customer_id="C00001",
    channel=Channel.WECHAT,
    destination="190****1234",
    body="王先生您好，车主秘书提醒您：\n1. 续保\n2. 年检",
    reminder_keys=["renewal:P1:30", "inspection:苏A1:2026-12-01"],
    kinds=[ReminderKind.INSPECTION, ReminderKind.RENEWAL],
    status=MessageStatus.QUEUED,
    attempts=0,
    next_attempt_at=None,
    last_error="",
    created_at=datetime(2026, 11, 5, tzinfo=UTC),
    sent_at=None,
)


def _client(status: int, seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text="nope" if status >= 400 else "{}")

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_sms_posts_the_number_and_text_with_the_token() -> None:
    seen: list[httpx.Request] = []
    SmsWebhook("https://sms.example/hook", "tok", client=_client(200, seen)).send(
        MESSAGE, "19012341234"
    )
    [request] = seen
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.content) == {
        "message_id": 7,
        "customer_id": "C00001",
        "phone": "19012341234",
        "text": MESSAGE.body,
    }


def test_wechat_posts_a_template_message_without_a_token_header() -> None:
    seen: list[httpx.Request] = []
    WeChatTemplateWebhook("http://wx.example/hook", "tpl-1", client=_client(204, seen)).send(
        MESSAGE, "19012341234"
    )
    body = json.loads(seen[0].content)
    assert "Authorization" not in seen[0].headers
    assert body["template_id"] == "tpl-1"
    assert body["data"] == {
        "first": "王先生您好，车主秘书提醒您：",
        "keywords": ["inspection", "renewal"],
        "content": "1. 续保\n2. 年检",
    }


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_a_refusal_is_a_delivery_error_naming_the_status(status: int) -> None:
    with pytest.raises(DeliveryError, match=f"sms webhook answered HTTP {status}: nope"):
        SmsWebhook("https://sms.example/hook", client=_client(status, [])).send(MESSAGE, "x")


def test_no_answer_is_a_delivery_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(DeliveryError, match="ConnectError: connection refused"):
        WeChatTemplateWebhook("https://wx.example/hook", "t", client=client).send(MESSAGE, "x")


def test_a_webhook_url_must_be_http() -> None:
    with pytest.raises(PolicyDeskError, match="'ftp://x'"):
        SmsWebhook("ftp://x")
