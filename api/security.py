"""Who is calling: agents with a short-lived token, integrations with an API key, customers with
their session's secret. Closed by default: with nothing configured, every agent endpoint answers
401, and a conversation is readable only with its secret.

Each dependency turns a credential into a typed principal or raises an ``ApiError`` (401 without
a valid credential, 403 with one that may not do this). Every use of an API key is audited.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from accounts.apikeys import ApiKey, ApiScope, InvalidApiKeyError, looks_like_key
from accounts.models import User
from accounts.permissions import Action, can
from accounts.store import UserNotFoundError
from accounts.tokens import InvalidTokenError
from api.errors import ApiError
from services.root import Services

SESSION_SECRET_HEADER = "X-Session-Secret"

_bearer = HTTPBearer(
    auto_error=False,
    description="an agent's access token (POST /v1/auth/token) or an integration's API key",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


class Caller(BaseModel):
    """The authenticated caller of a request: an agent, an integration, or an anonymous client."""

    kind: Literal["agent", "service", "anonymous"]
    user: User | None = None
    key: ApiKey | None = None
    address: str

    @property
    def client(self) -> str:
        """What rate limits and the identity lockout count against: the key, else the address."""
        if self.key is not None:
            return f"key:{self.key.name}"
        return f"ip:{self.address}"


def _services(request: Request) -> Services:
    services: Services = request.app.state.policydesk.services
    return services


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def caller(request: Request, credentials: Credentials) -> Caller:
    """The caller, from the Authorization header; anonymous without one.

    Raises:
        ApiError: 401 for a credential that is not valid (unknown, revoked or expired).
    """
    services = _services(request)
    address = _address(request)
    if credentials is None or not credentials.credentials:
        if request.headers.get("authorization"):
            # credentials that are not a bearer token are checked, never ignored
            raise _unauthorized("send credentials as Authorization: Bearer <token or key>")
        return Caller(kind="anonymous", address=address)
    given = credentials.credentials
    if looks_like_key(given):
        try:
            key = services.api_keys.authenticate(
                given, services.audit, request.url.path, f"{request.method} from {address}"
            )
        except InvalidApiKeyError as exc:
            raise _unauthorized(str(exc)) from None
        return Caller(kind="service", key=key, address=address)
    try:
        claims = services.token_issuer.verify(given)
        user = services.accounts.get(claims.username)
    except (InvalidTokenError, UserNotFoundError):
        raise _unauthorized("a valid access token is required: log in again") from None
    if not user.active:
        raise _unauthorized("the account is deactivated")
    return Caller(kind="agent", user=user, address=address)


AnyCaller = Annotated[Caller, Depends(caller)]


def agent(who: AnyCaller) -> User:
    """The authenticated agent who may handle handoffs.

    Raises:
        ApiError: 401 without an agent's token; 403 for an integration's key or an account
            whose roles do not allow handling handoffs.
    """
    if who.kind == "anonymous":
        raise _unauthorized("log in first: POST /v1/auth/token, then Authorization: Bearer")
    if who.user is None:
        raise ApiError(403, "forbidden", "an API key cannot act as an agent; log in as a person")
    if not can(who.user, Action.HANDLE_HANDOFFS):
        raise ApiError(403, "forbidden", f"{who.user.username} may not handle handoffs")
    return who.user


Agent = Annotated[User, Depends(agent)]


def customer_channel(who: AnyCaller) -> Caller:
    """A customer's client (anonymous) or a customer channel's back end (a ``chat`` key).

    Raises:
        ApiError: 403 for a key of another scope or an agent's token.
    """
    if who.kind == "anonymous" or (who.key is not None and who.key.scope is ApiScope.CHAT):
        return who
    raise ApiError(403, "forbidden", "this endpoint is for the customer channel (a chat key)")


CustomerChannel = Annotated[Caller, Depends(customer_channel)]


def session_secret(
    secret: Annotated[
        str | None,
        Header(
            alias=SESSION_SECRET_HEADER,
            description="the session_secret returned when the session was created",
            max_length=200,
        ),
    ] = None,
) -> str:
    """The session secret header (checked against the conversation by the endpoint).

    Raises:
        ApiError: 401 when it is missing.
    """
    if not secret:
        raise ApiError(
            401,
            "session_secret_required",
            f"send the session's secret in the {SESSION_SECRET_HEADER} header",
        )
    return secret


SessionSecret = Annotated[str, Depends(session_secret)]
