"""One error shape for every failure: ``{"error": {"code", "message", "field"}}``.

PolicyDesk's typed errors map to HTTP statuses here, in one table. Messages of errors a client
can act on (unknown session, handoff already taken, rate limit) are passed through; anything
about the server's own state (paths, model files) is logged, and the client gets a generic line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from accounts.permissions import PermissionDeniedError
from api.schemas import ErrorDetail, ErrorResponse
from calls.approvals import (
    ApprovalCallError,
    ApprovalNotFoundError,
    ApprovalStateError,
    InvalidApprovalError,
)
from calls.service import CallAgentError
from calls.store import CallBusyError, CallEndedError, CallExistsError, CallNotFoundError
from chatbot.queue import HandoffNotFoundError, HandoffStateError
from chatbot.replies import ReplyNotCompliantError
from chatbot.service import RateLimitedError
from chatbot.sessions import ConversationBusyError, ConversationNotFoundError
from core.errors import (
    ConfigurationError,
    DatabaseNotReadyError,
    IndexNotBuiltError,
    InvalidQueryError,
    ModelNotReadyError,
    OverloadedError,
    PolicyDeskError,
)
from customers.bookings import (
    BookingNotFoundError,
    InvalidBookingError,
    PrivilegeNotIncludedError,
    QuotaExhaustedError,
)
from customers.privileges import PrivilegeError
from customers.selfservice import (
    AppointmentNotFoundError,
    ClaimNotOwnedError,
    ClaimStateError,
    InvalidSelfServiceInputError,
    PolicyMismatchError,
    SelfServiceError,
    SlotUnavailableError,
    WithdrawalNotFoundError,
    WithdrawalStateError,
)
from customers.store import CustomerNotFoundError
from customers.uploads import UploadLinkError, UploadNotFoundError, UploadRejectedError

logger = logging.getLogger("policydesk.api")

GENERIC_500 = "something went wrong on our side; please try again later"


# what keeps the chatbot from starting: (code, what the client is told)
_NOT_READY: dict[type[PolicyDeskError], tuple[str, str]] = {
    IndexNotBuiltError: ("index_not_built", "the knowledge index is not built"),
    ModelNotReadyError: ("model_not_ready", "a model is not installed"),
    ConfigurationError: ("not_configured", "its configuration is invalid"),
    DatabaseNotReadyError: ("database_not_ready", "its database is not set up"),
}


class ApiError(Exception):
    """An error the API raises itself, already in HTTP terms."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


class ChatbotNotReadyError(ApiError):
    """The chatbot cannot be built yet: no index, no trained model, or bad configuration."""

    def __init__(self, cause: PolicyDeskError) -> None:
        code, what = "not_ready", "it cannot start"
        for kind, (kind_code, kind_what) in _NOT_READY.items():
            if isinstance(cause, kind):
                code, what = kind_code, kind_what
                break
        super().__init__(
            503,
            code,
            f"the assistant is not available yet ({what}); please try again later",
            headers={"Retry-After": "30"},
        )


# (error type, status, code, field): checked in order, the first isinstance match wins
_MAPPING: list[tuple[type[PolicyDeskError], int, str, str | None]] = [
    (ConversationNotFoundError, 404, "session_not_found", None),
    (CallNotFoundError, 404, "call_not_found", None),
    (CallEndedError, 409, "call_ended", None),
    (CallExistsError, 409, "call_exists", "call_id"),
    (CallBusyError, 409, "call_busy", None),
    (CallAgentError, 422, "unknown_agent", "agent"),
    (CustomerNotFoundError, 422, "unknown_customer", "customer_id"),
    (HandoffNotFoundError, 404, "handoff_not_found", None),
    (ConversationBusyError, 409, "conversation_busy", None),
    (HandoffStateError, 409, "handoff_state_conflict", None),
    (RateLimitedError, 429, "rate_limited", None),
    # the server is busy, the request was refused before anything was written: retry it
    (OverloadedError, 503, "overloaded", None),
    (ReplyNotCompliantError, 422, "reply_not_compliant", "text"),
    (PermissionDeniedError, 403, "forbidden", None),
    (ApprovalNotFoundError, 404, "approval_not_found", None),
    (ApprovalStateError, 409, "approval_decided", None),
    (ApprovalCallError, 404, "call_not_found", None),
    (InvalidApprovalError, 422, "invalid_approval", None),
    # the only free text the API hands on is a customer message's or an agent reply's text
    (InvalidQueryError, 422, "invalid_message", "text"),
    # uploads (api/uploads.py answers a refused file with 413/415/422 by its reason itself)
    (UploadNotFoundError, 404, "document_not_found", None),
    (UploadLinkError, 404, "claim_not_found", "claim_no"),
    (UploadRejectedError, 422, "upload_rejected", "file"),
    # ----- member privileges (api/privileges.py) -----
    (PrivilegeError, 404, "privilege_not_found", "key"),
    (PrivilegeNotIncludedError, 422, "privilege_not_included", "key"),
    (QuotaExhaustedError, 409, "quota_exhausted", "key"),
    (BookingNotFoundError, 404, "booking_not_found", None),
    (InvalidBookingError, 422, "invalid_booking", None),
    # ----- self-service claim records (customers/selfservice.py) -----
    (InvalidSelfServiceInputError, 422, "invalid_selfservice_request", None),
    (PolicyMismatchError, 422, "policy_mismatch", "policy_no"),
    (ClaimNotOwnedError, 404, "claim_not_found", "claim_no"),
    (ClaimStateError, 409, "claim_state_conflict", "claim_no"),
    (SlotUnavailableError, 409, "slot_unavailable", "slot_start"),
    (AppointmentNotFoundError, 404, "appointment_not_found", None),
    (WithdrawalNotFoundError, 404, "withdrawal_not_found", None),
    (WithdrawalStateError, 409, "withdrawal_state_conflict", None),
    (SelfServiceError, 422, "invalid_selfservice_request", None),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error shape as a response."""
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _field_of(location: Sequence[Any]) -> str:
    # ("body", "text") -> "text"; ("path", "session_id") -> "session_id"; ("body",) -> "body"
    parts = [str(p) for p in location]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def _policydesk_error(request: Request, exc: Exception) -> JSONResponse:
    for kind, status, code, field in _MAPPING:
        if isinstance(exc, kind):
            if isinstance(exc, InvalidSelfServiceInputError):
                field = exc.field  # the error names the bad field itself
            headers = None
            if isinstance(exc, OverloadedError):
                headers = {"Retry-After": str(exc.retry_after)}
            elif status == 429:  # the window is a minute: waiting that long always suffices
                headers = {"Retry-After": "60"}
            return error_response(status, code, str(exc), field, headers)
    if isinstance(exc, tuple(_NOT_READY)):
        assert isinstance(exc, PolicyDeskError)
        logger.warning("chatbot not ready: %s", exc)
        not_ready = ChatbotNotReadyError(exc)
        return error_response(503, not_ready.code, not_ready.message, headers=not_ready.headers)
    # an error we raise on purpose but did not expect here; its message may name a customer
    logger.error("unmapped %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response(500, "internal_error", GENERIC_500)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if not errors:
        return error_response(422, "validation_error", "the request is invalid")
    first = errors[0]
    field = _field_of(first.get("loc", ()))
    # the error's "input" is deliberately not echoed: it may be the customer's message
    message = f"{field}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_response(422, "validation_error", message, field)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every expected failure to the one error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(PolicyDeskError, _policydesk_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def customer_not_found(exc: CustomerNotFoundError) -> ApiError:
    """An unknown customer named in the path: a resource that is not there, so 404 (in a body
    it is an invalid field: 422 ``unknown_customer``)."""
    return ApiError(404, "customer_not_found", str(exc), field="customer_id")
