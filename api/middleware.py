"""Two ASGI middlewares: a request-body size limit, and a last-resort 500 without a traceback.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so they add no task per request and see the
body as it arrives.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Sequence
from pathlib import Path

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import GENERIC_500, error_response

logger = logging.getLogger("policydesk.api")

DEFAULT_MAX_BODY_BYTES = 16 * 1024
DEFAULT_BODY_TIMEOUT = 10.0


class BodySizeLimit:
    """Answers 413 when a request body is larger than ``max_bytes``, and 408 when it takes longer
    than ``timeout`` seconds to arrive (a slow client must not hold a worker).

    The declared Content-Length is checked first; a chunked body is counted as it arrives and
    buffered (it is small by construction, or an upload within its own limit), then replayed to
    the application.

    Args:
        larger: (path pattern, limit) pairs: requests whose path matches may send up to that
            many bytes instead (uploads).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        timeout: float = DEFAULT_BODY_TIMEOUT,
        larger: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.larger = list(larger)

    def _limit_for(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope.get("path", ""))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await self._reject(scope, receive, send, 400, "bad_request", "bad Content-Length")
                return
            if length > max_bytes:
                await self._too_large(scope, receive, send, max_bytes)
                return
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body = message.get("body", b"")
                size += len(body)
                if size > max_bytes:
                    await self._too_large(scope, receive, send, max_bytes)
                    return
                chunks.append(body)
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await self._reject(
                scope,
                receive,
                send,
                408,
                "request_timeout",
                f"the request body did not arrive within {self.timeout:g} seconds",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await self._reject(
            scope,
            receive,
            send,
            413,
            "payload_too_large",
            f"the request body is larger than {limit} bytes",
        )

    @staticmethod
    async def _reject(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        response = error_response(status, code, message, headers={"Connection": "close"})
        await response(scope, receive, send)


class CatchAll:
    """Turns any unhandled exception into a generic 500 and logs where it happened.

    The log names the exception type and the frames, never the exception's message or the
    request body: either may carry a customer's words, ID or phone number.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            where = " <- ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-8:])
            )
            logger.error(
                "unhandled %s on %s %s at %s",
                type(exc).__qualname__,
                scope.get("method", "?"),
                scope.get("path", "?"),
                where,
            )
            if not started:  # otherwise the client already has a status line; just stop
                await error_response(500, "internal_error", GENERIC_500)(scope, receive, send)
