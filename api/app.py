"""The FastAPI application: the self-service chatbot and the handoff queue over HTTP.

A thin wrapper around ``Services``: each endpoint calls one service method and returns a
schema from ``api.schemas``. Endpoints are plain ``def``: FastAPI runs them in its threadpool,
and the services they call (SQLAlchemy, the embedder behind its lock) are thread-safe.

Run it with ``make api`` (uvicorn's ``--factory api.app:create_app``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response

from accounts.login import LoginThrottledError
from accounts.store import AuthenticationError
from api.approvals import router as approvals
from api.calls import router as calls
from api.context import ApiContext, Context, errors
from api.errors import ApiError, install_error_handlers
from api.metrics import RequestMetrics
from api.metrics import router as metrics
from api.middleware import DEFAULT_MAX_BODY_BYTES, BodySizeLimit, CatchAll
from api.privileges import router as privileges
from api.quality import router as quality
from api.schemas import (
    MAX_SESSION_ID_CHARS,
    AcceptRequest,
    AgentMessageIn,
    Handoff,
    HandoffList,
    Health,
    LoginRequest,
    Message,
    MessageIn,
    Reply,
    ResolveRequest,
    Session,
    SessionCreate,
    SessionCreated,
    TokenResponse,
)
from api.security import Agent, CustomerChannel, SessionSecret, agent
from api.selfservice import router as selfservice
from api.uploads import MULTIPART_OVERHEAD, UPLOAD_PATHS
from api.uploads import router as uploads
from chatbot.handoff import HandoffState
from chatbot.service import RATE_WINDOW, ChatbotService, RateLimitedError
from core.runtime import configure_runtime
from core.settings import Settings
from outreach.store import OutboxMessageNotFoundError
from services.readiness import Readiness, database_now
from services.root import Services

logger = logging.getLogger("policydesk.api")

API_VERSION = "2.0"
DESCRIPTION = """
PolicyDesk's self-service channel (车险自助客服) and its agents over HTTP. Closed by default.

A customer's client **starts a session** and keeps the returned `session_secret`, then **posts
messages** with the header `X-Session-Secret`; each reply is either answered by the bot from the
policy clauses (`route: bot`, with citations) or handed to a human agent (`route: human`, with a
`handoff_id`). Without the secret a session can be neither read nor written. A customer channel's
back end (WeChat, an app server) may also send its API key (`Authorization: Bearer pdk_chat_…`).

Agents **log in** (`POST /v1/auth/token`, their PolicyDesk account) and send the short-lived token
as `Authorization: Bearer <token>` to **list, accept, answer and resolve handoffs**; the acting
agent is always the one the token names. Integrations use API keys
(`policydesk apikey create NAME --scope chat|calls`); every use of a key is audited.

Every error has the body `{"error": {"code", "message", "field"}}`.
"""
TAGS = [
    {"name": "auth", "description": "Agents log in for a short-lived access token."},
    {"name": "sessions", "description": "A customer's conversation with the bot."},
    {"name": "handoffs", "description": "Conversations handed to human agents (agents only)."},
    {"name": "calls", "description": "Live calls fed by the telephony connector (a calls key)."},
    {"name": "approvals", "description": "Requests beyond an agent's authority level (分层授权)."},
    {"name": "health", "description": "Liveness and readiness."},
    {"name": "uploads", "description": "Claims' photos and documents (agents)."},
    {"name": "selfservice", "description": "Customers' self-service claim records (微理赔)."},
]
# any request can fail these ways: a malformed request (400), a body too large (413) or too slow
# (408), or an error on our side (500)
COMMON_ERRORS = (400, 408, 413, 500)


SessionId = Annotated[str, Path(min_length=1, max_length=MAX_SESSION_ID_CHARS)]
HandoffId = Annotated[str, Path(min_length=1, max_length=MAX_SESSION_ID_CHARS)]

# ----- auth -------------------------------------------------------------------------------------

auth = APIRouter(prefix="/v1/auth", tags=["auth"])


@auth.post("/token", summary="Log in (agents)", responses=errors(401, 413, 422, 429))
def issue_token(context: Context, request: Request, body: LoginRequest) -> TokenResponse:
    """Exchange an agent's PolicyDesk username and password for a short-lived access token.

    Failed logins slow down (per account and per client), then lock for a while: 429 with
    `Retry-After`. Every failure is audited.
    """
    services = context.services
    address = request.client.host if request.client else "unknown"
    _limit(services, f"ip:{address}:login", services.settings.api_logins_per_minute)
    try:
        user = services.login.login(body.username, body.password, client=f"ip:{address}")
    except LoginThrottledError as exc:
        raise ApiError(
            429, "login_throttled", str(exc), headers={"Retry-After": str(exc.retry_after)}
        ) from exc
    except AuthenticationError as exc:
        raise ApiError(
            401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    token = services.token_issuer.issue(user.username)
    services.audit.record(user.username, "auth.token", "api", f"from {address}")
    return TokenResponse(
        access_token=token.token, expires_in=token.expires_in, expires_at=token.expires_at
    )


def _limit(services: Services, key: str, per_minute: int) -> None:
    """Count one request against a per-client limit shared by every worker.

    Raises:
        ApiError: 429 with Retry-After when over the limit.
    """
    verdict = services.rate_counters.hit(key, per_minute, RATE_WINDOW)
    if not verdict.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {per_minute} requests a minute from this client; wait and retry",
            headers={"Retry-After": str(verdict.retry_after)},
        )


# ----- sessions ---------------------------------------------------------------------------------

sessions = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@sessions.post(
    "",
    status_code=201,
    summary="Start a conversation",
    responses=errors(401, 403, 404, 413, 422, 429, 503),
)
def create_session(
    context: Context,
    response: Response,
    who: CustomerChannel,
    body: SessionCreate | None = None,
) -> SessionCreated:
    """Start a conversation on a channel; the body may be omitted (channel `api`).

    The reply's `session_secret` must accompany every later request for this session
    (`X-Session-Secret`); nobody else can read or write the conversation.
    """
    bot = context.chatbot()
    services = context.services
    _limit(services, f"{who.client}:sessions", services.settings.api_sessions_per_minute)
    request = body or SessionCreate()
    reminder: list[str] = []
    if request.reply_to is not None:
        try:
            replied = services.outreach_store.message(request.reply_to)
        except OutboxMessageNotFoundError as exc:
            raise ApiError(404, "reminder_not_found", str(exc), field="reply_to") from exc
        reminder = [kind.value for kind in replied.kinds]
    started = bot.start(request.channel, reminder=reminder)
    response.headers["Location"] = f"/v1/sessions/{started.id}"
    return SessionCreated(session_id=started.id, session_secret=started.secret)


def _owned(context: ApiContext, session_id: str, secret: str) -> ChatbotService:
    """The chatbot, once the secret is the session's (401 otherwise; the same for an unknown
    session, so that guessing ids tells nothing)."""
    bot = context.chatbot()
    if not bot.owns(session_id, secret):
        raise ApiError(
            401, "session_secret_invalid", "this session secret does not open this session"
        )
    return bot


@sessions.post(
    "/{session_id}/messages",
    summary="Send a customer message",
    responses=errors(401, 403, 404, 409, 413, 422, 429, 503),
)
def post_message(
    context: Context,
    session_id: SessionId,
    body: MessageIn,
    who: CustomerChannel,
    secret: SessionSecret,
) -> Reply:
    """Answer one customer message, or hand the conversation to a human.

    409 when another message on the same session was answered at the same moment (send it
    again); 429 with `Retry-After` when a session or a client sends too many messages in a
    minute; 503 `overloaded` with `Retry-After` when the server has more messages in hand than
    it can queue (nothing of the message is stored: send it again).
    """
    bot = _owned(context, session_id, secret)
    services = context.services
    _limit(services, f"{who.client}:messages", services.settings.api_messages_per_minute)
    try:
        answer = bot.post(session_id, body.text, client=who.client, attachments=body.attachments)
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
    responses=errors(401, 403, 404, 422, 503),
)
def get_session(
    context: Context, session_id: SessionId, who: CustomerChannel, secret: SessionSecret
) -> Session:
    """The conversation's messages, oldest first, and its handoff if it went to a human."""
    return Session.from_conversation(_owned(context, session_id, secret).conversation(session_id))


# ----- handoffs ---------------------------------------------------------------------------------

handoffs = APIRouter(
    prefix="/v1/handoffs",
    tags=["handoffs"],
    dependencies=[Depends(agent)],
    responses=errors(401, 403),
)


@handoffs.get("", summary="List handoffs", responses=errors(422))
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


@handoffs.get("/{handoff_id}", summary="Read a handoff", responses=errors(404, 422))
def get_handoff(context: Context, handoff_id: HandoffId) -> Handoff:
    """One handoff with the transcript (masked), mood, references and a suggested reply."""
    return Handoff.from_request(context.services.handoffs.get(handoff_id))


@handoffs.post(
    "/{handoff_id}/accept", summary="Accept a handoff", responses=errors(404, 409, 413, 422)
)
def accept_handoff(
    context: Context, handoff_id: HandoffId, user: Agent, body: AcceptRequest | None = None
) -> Handoff:
    """Take a waiting handoff as the logged-in agent; of two agents accepting at once exactly one
    wins, the other 409."""
    return Handoff.from_request(context.services.handoffs.accept(handoff_id, user.username))


@handoffs.post(
    "/{handoff_id}/resolve", summary="Resolve a handoff", responses=errors(404, 409, 413, 422)
)
def resolve_handoff(
    context: Context, handoff_id: HandoffId, body: ResolveRequest, user: Agent
) -> Handoff:
    """Close a handoff; only the agent who accepted it may (409 otherwise)."""
    queue = context.services.handoffs
    return Handoff.from_request(queue.resolve(handoff_id, user.username, body.resolution))


@handoffs.post(
    "/{handoff_id}/messages",
    status_code=201,
    summary="Reply to the customer",
    responses=errors(404, 409, 413, 422),
)
def reply_to_customer(
    context: Context, handoff_id: HandoffId, body: AgentMessageIn, user: Agent
) -> Message:
    """Send the accepting agent's reply into the customer's conversation; the customer's client
    reads it with `GET /v1/sessions/{session_id}` (`sender` = `agent`). 409 unless the handoff is
    accepted by this agent; 422 `reply_not_compliant` when the reply crosses a compliance red line
    (nothing is sent; the message names the rule and a compliant wording)."""
    turn = context.services.agent_replies().send(handoff_id, user.username, body.text)
    return Message.from_turn(turn)


# ----- health -----------------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Liveness")
def healthz(context: Context) -> Health:
    """Always 200 while the process serves; `ready` says whether the chatbot is loaded, `worker`
    which process answered."""
    return Health(ready=context.ready, worker=os.getpid())


@health.get(
    "/readyz",
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "still loading, or a part cannot load"}},
)
def readyz(context: Context, response: Response) -> Readiness:
    """200 once the warm-up at start has loaded the content, the encoder, the index, the emotion
    model, the call assist and the chatbot (the first turn is then as fast as any other), and
    while the database answers (checked on every probe); 503 while the warm-up runs (`parts` is
    empty), when a part cannot load or the database does not answer (`problem` says why). A load
    balancer sends calls here only after 200."""
    readiness = context.readiness
    if readiness is None:
        response.status_code = 503
        return Readiness(ready=False, generation=None, parts=[])
    database = database_now(context.services)
    readiness = readiness.model_copy(
        update={"parts": [*readiness.parts, database], "ready": readiness.ready and database.ready}
    )
    if not readiness.ready:
        response.status_code = 503
    return readiness


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
        # warm up in the background so that the first caller and the first customer do not wait
        # for the models to load; GET /readyz says when it is done (a part that cannot load is
        # logged, and requests needing it get 503 until it can)
        warming = threading.Thread(target=context.warm_up, name="warm-up", daemon=True)
        warming.start()
        yield
        context.services.close()  # answer what the encoder has queued, then stop its thread

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
        responses=errors(*COMMON_ERRORS),
    )
    app.state.policydesk = context
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=max_body_bytes,
        timeout=context.services.settings.api_body_timeout,
        # uploads: a file up to its own limit, in a multipart body
        larger=[(UPLOAD_PATHS, context.services.settings.upload_max_bytes + MULTIPART_OVERHEAD)],
    )
    app.add_middleware(CatchAll)  # outside the size limit: also covers it
    # added last = outermost: times every request, the generic 500 and the 413 included
    app.add_middleware(RequestMetrics, telemetry=context.services.telemetry)
    app.include_router(auth)
    app.include_router(calls)
    app.include_router(quality)
    app.include_router(approvals)
    app.include_router(sessions)
    app.include_router(handoffs)
    app.include_router(health)
    app.include_router(metrics)
    app.include_router(uploads)
    app.include_router(privileges)
    app.include_router(selfservice)
    return app
