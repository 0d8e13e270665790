"""Channel adapters: each message goes to a configured webhook as JSON (an SMS gateway, or a
WeChat template-message relay). The adapters are the only place a full phone number is used,
and only in the request body; nothing here logs it."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from core.errors import PolicyDeskError
from outreach.models import Channel, OutboxMessage


class DeliveryError(PolicyDeskError):
    """One attempt to hand a message to its channel failed (the message says how)."""


class ChannelAdapter(Protocol):
    """Hands one message to one channel."""

    channel: Channel

    def send(self, message: OutboxMessage, phone: str) -> None:
        """Deliver the message.

        Args:
            message: the outbox message (its destination is masked).
            phone: the full number (or the masked one, when the full number is not available).

        Raises:
            DeliveryError: the channel did not accept it.
        """
        ...


class _Webhook:
    """POSTs JSON to a URL; any status but 2xx, or no answer in time, is a failed attempt."""

    channel: Channel

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise PolicyDeskError(f"{self.channel.value} webhook URL must be http(s), got {url!r}")
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout
        self._client = client

    def _payload(self, message: OutboxMessage, phone: str) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, message: OutboxMessage, phone: str) -> None:
        """POST the message (see ``ChannelAdapter.send``)."""
        body = self._payload(message, phone)
        try:
            if self._client is not None:
                response = self._client.post(self._url, json=body, headers=self._headers)
            else:
                response = httpx.post(
                    self._url, json=body, headers=self._headers, timeout=self._timeout
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"{self.channel.value} webhook: {type(exc).__name__}: {exc}"
            ) from exc
        if not response.is_success:
            raise DeliveryError(
                f"{self.channel.value} webhook answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )


class SmsWebhook(_Webhook):
    """An SMS gateway's webhook: ``{"message_id", "customer_id", "phone", "text"}``."""

    channel = Channel.SMS

    def _payload(self, message: OutboxMessage, phone: str) -> dict[str, Any]:
        return {
            "message_id": message.id,
            "customer_id": message.customer_id,
            "phone": phone,
            "text": message.body,
        }


class WeChatTemplateWebhook(_Webhook):
    """A WeChat template-message relay: ``{"message_id", "customer_id", "phone",
    "template_id", "data": {"first", "keywords", "remark"}}``; the relay maps the customer to
    their openid (PolicyDesk keeps none)."""

    channel = Channel.WECHAT

    def __init__(
        self,
        url: str,
        template_id: str,
        token: str | None = None,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(url, token, timeout, client)
        self._template_id = template_id

    def _payload(self, message: OutboxMessage, phone: str) -> dict[str, Any]:
        lines = message.body.split("\n")
        return {
            "message_id": message.id,
            "customer_id": message.customer_id,
            "phone": phone,
            "template_id": self._template_id,
            "data": {
                "first": lines[0],
                "keywords": [k.value for k in message.kinds],
                "content": "\n".join(lines[1:]),
            },
        }
