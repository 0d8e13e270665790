"""The request-body guard: a body too large is 413, one that arrives too slowly is 408, and the
application never sees either."""

from __future__ import annotations

import json

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from api.middleware import BodySizeLimit


class _App:
    """Records whether it was called."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _call(middleware: BodySizeLimit, chunks: list[bytes], pause: float) -> list[Message]:
    sent: list[Message] = []
    pending = list(chunks)

    async def receive() -> Message:
        if not pending:
            await anyio.sleep(3600)  # a client that never finishes
        await anyio.sleep(pause)
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/sessions", "headers": []}
    await middleware(scope, receive, send)
    return sent


def _status(sent: list[Message]) -> tuple[int, dict[str, object]]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), json.loads(body)


def test_a_slow_body_is_408_and_never_reaches_the_app() -> None:
    app = _App()
    middleware = BodySizeLimit(app, max_bytes=1024, timeout=0.2)
    sent = anyio.run(_call, middleware, [b'{"te', b'xt": "a"}'], 0.15)
    status, body = _status(sent)
    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert not app.called


def test_a_body_in_time_reaches_the_app_and_a_large_one_is_413() -> None:
    app = _App()
    assert (
        _status(anyio.run(_call, BodySizeLimit(app, 1024, 1.0), [b'{"a":', b"1}"], 0.01))[0] == 200
    )
    assert app.called
    big = BodySizeLimit(_App(), max_bytes=8, timeout=1.0)
    assert _status(anyio.run(_call, big, [b"x" * 9], 0.0))[0] == 413


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        BodySizeLimit(_App(), 10, timeout=0)
