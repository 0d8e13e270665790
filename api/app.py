"""The FastAPI application: the self-service chatbot and the handoff queue over HTTP.

A thin wrapper around ``Services``: each endpoint calls one service method and returns a
schema from ``api.schemas``. Endpoints are plain ``def``: FastAPI runs them in its threadpool,
and the services they call (SQLAlchemy, the embedder behind its lock) are thread-safe.

Run it with ``make api`` (uvicorn's ``--factory api.app:create_app``).
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError, ChatbotNotReadyError, install_error_handlers
from api.middleware import DEFAULT_MAX_BODY_BYTES, BodySizeLimit, CatchAll
from api.schemas import (
    MAX_SESSION_ID_CHARS,
    AcceptRequest,
    AgentMessageIn,
    ErrorResponse,
    Handoff,
    HandoffList,
    Health,
    Message,
    MessageIn,
    Reply,
    ResolveRequest,
    Session,
    SessionCreate,
    SessionCreated,
)
from chatbot.handoff import HandoffState
from chatbot.service import ChatbotService, RateLimitedError
from core.errors import PolicyDeskError
from core.runtime import configure_runtime
from core.settings import Settings
from services.root import Services

logger = logging.getLogger("policydesk.api")

API_VERSION = "1.0"
DESCRIPTION = """
PolicyDesk's self-service channel (车险自助客服) over HTTP.

A customer's client **starts a session**, then **posts messages**; each reply is either answered
by the bot from the policy clauses (`route: bot`, with citations) or handed to a human agent
(`route: human`, with a `handoff_id`). Agents (or the agent desktop) **list, accept and resolve
handoffs**; those endpoints need `Authorization: Bearer <token>` when the server sets
`POLICYDESK_API_AGENT_TOKEN`.

Every error has the body `{"error": {"code", "message", "field"}}`.
"""
TAGS = [
    {"name": "sessions", "description": "A customer's conversation with the bot."},
    {"name": "handoffs", "description": "Conversations handed to human agents (agent token)."},
    {"name": "health", "description": "Liveness and readiness."},
]


def _errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    return {status: {"model": ErrorResponse} for status in statuses}


class ApiContext:
    """What the endpoints share: the services, and the chatbot built once per content generation.

    The chatbot is rebuilt when the published-content generation moved (an ingest, a publish or
    a kept retraining, from this process or any other), so it never queries a dropped collection
    or serves a stale guard.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._chatbot: ChatbotService | None = None
        self._built_on: int | None = None  # the generation the chatbot was built from
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._chatbot is not None

    def chatbot(self) -> ChatbotService:
        """The shared chatbot over the current content; retried on the next request if not ready.

        Raises:
            ChatbotNotReadyError: no index, no trained model, or invalid configuration.
        """
        try:
            generation = self.services.content().generation  # one primary-key read
            if self._chatbot is not None and generation == self._built_on:
                return self._chatbot
            with self._lock:
                if self._chatbot is None or generation != self._built_on:
                    bot = self.services.chatbot()
                    self.services.embedder.warm_up()
                    self._chatbot, self._built_on = bot, generation
                return self._chatbot
        except PolicyDeskError as exc:
            logger.warning("chatbot not ready: %s", exc)
            raise ChatbotNotReadyError(exc) from exc


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.policydesk
    return context


Context = Annotated[ApiContext, Depends(get_context)]
SessionId = Annotated[str, Path(min_length=1, max_length=MAX_SESSION_ID_CHARS)]
HandoffId = Annotated[str, Path(min_length=1, max_length=MAX_SESSION_ID_CHARS)]

_bearer = HTTPBearer(
    auto_error=False,
    description="the agent token (POLICYDESK_API_AGENT_TOKEN); not needed when it is unset",
)


def require_agent(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """Checks the agent bearer token when one is configured (constant-time comparison).

    Raises:
        ApiError: 401 when the token is missing or wrong.
    """
    expected = context.services.settings.api_agent_token
    if expected is None:
        return
    given = credentials.credentials if credentials is not None else ""
    # an empty configured token matches nothing, rather than everything
    if not given or not hmac.compare_digest(
        given.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise ApiError(
            401,
            "unauthorized",
            "a valid agent token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


# ----- sessions ---------------------------------------------------------------------------------

sessions = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@sessions.post(
    "",
    status_code=201,
    summary="Start a conversation",
    responses=_errors(413, 422, 503),
)
def create_session(
    context: Context, response: Response, body: SessionCreate | None = None
) -> SessionCreated:
    """Start a conversation on a channel; the body may be omitted (channel `api`)."""
    conversation = context.chatbot().start((body or SessionCreate()).channel)
    response.headers["Location"] = f"/v1/sessions/{conversation.id}"
    return SessionCreated(session_id=conversation.id)


@sessions.post(
    "/{session_id}/messages",
    summary="Send a customer message",
    responses=_errors(404, 409, 413, 422, 429, 503),
)
def post_message(context: Context, session_id: SessionId, body: MessageIn) -> Reply:
    """Answer one customer message, or hand the conversation to a human.

    409 when another message on the same session was answered at the same moment (send it
    again); 429 with `Retry-After` when a session sends too many messages in a minute.
    """
    bot = context.chatbot()
    try:
        answer = bot.post(session_id, body.text)
    except RateLimitedError as exc:
        raise ApiError(
            429,
            "rate_limited",
            str(exc),
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    return Reply.from_answer(answer)


@sessions.get(
    "/{session_id}",
    summary="Read a conversation",
    responses=_errors(404, 422, 503),
)
def get_session(context: Context, session_id: SessionId) -> Session:
    """The conversation's messages, oldest first, and its handoff if it went to a human."""
    return Session.from_conversation(context.chatbot().conversation(session_id))


# ----- handoffs ---------------------------------------------------------------------------------

handoffs = APIRouter(
    prefix="/v1/handoffs",
    tags=["handoffs"],
    dependencies=[Depends(require_agent)],
    responses=_errors(401),
)


@handoffs.get("", summary="List handoffs", responses=_errors(422))
def list_handoffs(
    context: Context,
    state: Annotated[
        Literal["waiting", "accepted", "resolved", "all"],
        Query(description="which handoffs; all for every state"),
    ] = "waiting",
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 100,
) -> HandoffList:
    """Handoffs most urgent first (priority 0 = injury or emergency), then longest waiting."""
    queue = context.services.handoffs
    wanted = None if state == "all" else HandoffState(state)
    return HandoffList(
        items=[Handoff.from_request(h) for h in queue.list(wanted, limit)],
        counts=queue.counts(),
    )


@handoffs.get("/{handoff_id}", summary="Read a handoff", responses=_errors(404, 422))
def get_handoff(context: Context, handoff_id: HandoffId) -> Handoff:
    """One handoff with the transcript (masked), mood, references and a suggested reply."""
    return Handoff.from_request(context.services.handoffs.get(handoff_id))


@handoffs.post(
    "/{handoff_id}/accept", summary="Accept a handoff", responses=_errors(404, 409, 413, 422)
)
def accept_handoff(context: Context, handoff_id: HandoffId, body: AcceptRequest) -> Handoff:
    """Take a waiting handoff; of two agents accepting at once exactly one wins, the other 409."""
    return Handoff.from_request(context.services.handoffs.accept(handoff_id, body.agent))


@handoffs.post(
    "/{handoff_id}/resolve", summary="Resolve a handoff", responses=_errors(404, 409, 413, 422)
)
def resolve_handoff(context: Context, handoff_id: HandoffId, body: ResolveRequest) -> Handoff:
    """Close a handoff; only the agent who accepted it may (409 otherwise)."""
    queue = context.services.handoffs
    return Handoff.from_request(queue.resolve(handoff_id, body.agent, body.resolution))


@handoffs.post(
    "/{handoff_id}/messages",
    status_code=201,
    summary="Reply to the customer",
    responses=_errors(404, 409, 413, 422),
)
def reply_to_customer(context: Context, handoff_id: HandoffId, body: AgentMessageIn) -> Message:
    """Send the accepting agent's reply into the customer's conversation; the customer's client
    reads it with `GET /v1/sessions/{session_id}` (`sender` = `agent`). 409 unless the handoff is
    accepted by this agent; 422 `reply_not_compliant` when the reply crosses a compliance red line
    (nothing is sent; the message names the rule and a compliant wording)."""
    turn = context.services.agent_replies().send(handoff_id, body.agent, body.text)
    return Message.from_turn(turn)


# ----- health -----------------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Liveness")
def healthz(context: Context) -> Health:
    """Always 200 while the process serves; `ready` says whether the chatbot is loaded."""
    return Health(ready=context.ready)


# ----- the application --------------------------------------------------------------------------


def create_app(
    services: Services | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> FastAPI:
    """The API over ``services`` (built from the environment when None).

    Nothing heavy happens here: the chatbot (index, encoder, emotion model) is built when the
    server starts (lifespan) or on the first request that needs it, and reused.

    Args:
        services: the composition root; ``Services(Settings())`` when None.
        max_body_bytes: larger request bodies get 413.

    Returns:
        The application, for uvicorn (``--factory``) or a test client.
    """
    configure_runtime()
    context = ApiContext(services or Services(Settings()))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # warm up so the first customer does not wait for the model to load; when it cannot be
        # built yet (already logged), requests get 503 until it can
        with suppress(ChatbotNotReadyError):
            await anyio.to_thread.run_sync(context.chatbot)
        yield

    app = FastAPI(
        title="PolicyDesk self-service API",
        summary="Auto-insurance self-service chatbot and human handoff queue",
        description=DESCRIPTION,
        version=API_VERSION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # telemetry would record validation failures and exception messages, which may hold
        # a customer's words or phone number; keep spans and metrics, not those logs
        telemetry={"logs": False},
    )
    app.state.policydesk = context
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(CatchAll)  # added last = outermost: also covers the size limit
    app.include_router(sessions)
    app.include_router(handoffs)
    app.include_router(health)
    return app
