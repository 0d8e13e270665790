"""Request metrics: an ASGI middleware that times every request, and ``GET /metrics``.

Latency is labelled by the route's template (``/v1/sessions/{session_id}/messages``), never by
the raw path, so that session and handoff ids neither leak into the metrics nor multiply their
series; a request that matched no route counts as ``unmatched``.

Each uvicorn worker process has its own metrics (see ``core.telemetry`` for
``PROMETHEUS_MULTIPROC_DIR``, which lets any worker report all of them).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import Context
from core.telemetry import Telemetry

UNMATCHED = "unmatched"

router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(context: Context) -> Response:
    """This worker's metrics in the Prometheus text format (every worker's in multiprocess
    mode)."""
    body, content_type = context.services.telemetry.exposition()
    return Response(content=body, media_type=content_type)


class RequestMetrics:
    """Records each HTTP request's latency by route template, method and status code.

    Outermost of the middlewares, so that the generic 500 and the size limit's 413 count too.
    """

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an app that fails without answering has failed

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            # the router records the matched route in the (shared) scope
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.telemetry.request(
                template, scope.get("method", "?"), status, time.perf_counter() - started
            )
