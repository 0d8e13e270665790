"""Photos and documents for claims over HTTP (multipart), for agents and for the chat client.

Contract:

- ``POST /v1/claims/{claim_no}/documents`` (multipart: ``file``, optional ``keep_location``)
  → 201 the stored document; an agent's token. 404 when the claim is unknown.
- ``GET /v1/claims/{claim_no}/documents`` → ``{"items": [...]}``, oldest first.
- ``GET /v1/documents/{id}`` → the file as stored (a photo re-encoded, without EXIF);
  ``GET /v1/documents/{id}/thumbnail`` → a 240 px JPEG (404 for a document).
- ``POST /v1/sessions/{session_id}/uploads`` (multipart: ``file``, optional ``claim_no``) with
  ``X-Session-Secret``: the customer's photo from the chat; linked to the conversation, and to the
  claim when it is the verified customer's (the photo's position is then kept for the claim).

A refused file answers 413 (too large), 415 (a type not accepted, decided from the bytes) or 422
(empty, unreadable, too many pixels), with the one error body; nothing of it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from pydantic import BaseModel, Field

from api.context import Context, errors
from api.errors import ApiError
from api.schemas import MAX_SESSION_ID_CHARS
from api.security import Agent, CustomerChannel, SessionSecret
from chatbot.service import RATE_WINDOW
from customers.uploads import (
    NewUpload,
    RejectReason,
    UploadedDocument,
    UploadKind,
    UploadRejectedError,
    UploadStore,
)
from services.root import Services

UPLOAD_PATHS = re.compile(r"^/v1/(claims/[^/]+/documents|sessions/[^/]+/uploads)$")
"""The request paths whose bodies may be as large as an upload (the API's body limit is small)."""
MULTIPART_OVERHEAD = 64 * 1024
"""What a multipart body may carry beyond the file: boundaries, headers, the other fields."""

_STATUS = {RejectReason.TOO_LARGE: 413, RejectReason.TYPE_NOT_ALLOWED: 415}


def _file_responses(*types: str) -> dict[int | str, dict[str, object]]:
    """The OpenAPI ``responses`` of a file download of these media types."""
    found: dict[int | str, dict[str, object]] = {200: {"content": {t: {} for t in types}}}
    return found | errors(401, 403, 404, 422)


ClaimNo = Annotated[str, Path(min_length=1, max_length=32)]
DocumentId = Annotated[str, Path(min_length=1, max_length=40)]
SessionId = Annotated[str, Path(min_length=1, max_length=MAX_SESSION_ID_CHARS)]
FilePart = Annotated[UploadFile, File(description="the photo (JPEG, PNG, WebP) or PDF")]

router = APIRouter(prefix="/v1", tags=["uploads"])


class DocumentList(BaseModel):
    """A claim's photos and documents, oldest first."""

    items: list[UploadedDocument]


class UploadReceipt(BaseModel):
    """What the customer's client is told about a stored upload."""

    id: str
    kind: UploadKind
    size: int = Field(description="bytes as stored")
    claim_no: str | None
    original_name: str


def _store(context: Context) -> UploadStore:
    return context.services.uploads


def _read(services: Services, file: UploadFile) -> bytes:
    """The file's bytes, at most one more than the limit (enough to say it is too large)."""
    return file.file.read(services.settings.upload_max_bytes + 1)


def _add(store: Callable[[], UploadedDocument]) -> UploadedDocument:
    """The stored file, or the API error that says why it was refused."""
    try:
        return store()
    except UploadRejectedError as exc:
        code = "upload_" + exc.reason.value
        raise ApiError(_STATUS.get(exc.reason, 422), code, str(exc), field="file") from exc


def _unknown_claim(claim_no: str) -> ApiError:
    return ApiError(404, "claim_not_found", f"no claim {claim_no!r}")


# ----- agents -----------------------------------------------------------------------------------


@router.post(
    "/claims/{claim_no}/documents",
    status_code=201,
    summary="Upload a photo or document to a claim",
    responses=errors(401, 403, 404, 413, 415, 422),
)
def upload_to_claim(
    context: Context,
    claim_no: ClaimNo,
    file: FilePart,
    user: Agent,
    keep_location: Annotated[
        bool, Form(description="keep the photo's GPS position with the claim (accident photos)")
    ] = False,
) -> UploadedDocument:
    """Store a photo (re-encoded, metadata removed) or a PDF and link it to the claim."""
    store = _store(context)
    if store.claim_owner(claim_no) is None:
        raise _unknown_claim(claim_no)
    upload = NewUpload(
        data=_read(context.services, file),
        filename=file.filename or "",
        declared_type=file.content_type,
        claim_no=claim_no,
        keep_location=keep_location,
        uploaded_by=user.username,
    )
    return _add(lambda: store.add(upload))


@router.get(
    "/claims/{claim_no}/documents",
    summary="A claim's photos and documents",
    responses=errors(401, 403, 404, 422),
)
def list_claim_documents(context: Context, claim_no: ClaimNo, user: Agent) -> DocumentList:
    """Every upload linked to the claim, oldest first (thumbnails by id)."""
    store = _store(context)
    if store.claim_owner(claim_no) is None:
        raise _unknown_claim(claim_no)
    return DocumentList(items=store.for_claim(claim_no))


def _file_response(content: bytes, media_type: str, name: str | None = None) -> Response:
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    if name is not None:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(content=content, media_type=media_type, headers=headers)


@router.get(
    "/documents/{document_id}",
    summary="An uploaded file",
    response_class=Response,
    responses=_file_responses("image/jpeg", "image/png", "application/pdf"),
)
def get_document(context: Context, document_id: DocumentId, user: Agent) -> Response:
    """The file as stored: a photo as re-encoded (no EXIF), a PDF as sent."""
    store = _store(context)
    document = store.get(document_id)
    return _file_response(store.read(document_id), document.content_type, document.original_name)


@router.get(
    "/documents/{document_id}/thumbnail",
    summary="A photo's thumbnail",
    response_class=Response,
    responses=_file_responses("image/jpeg"),
)
def get_thumbnail(context: Context, document_id: DocumentId, user: Agent) -> Response:
    """A 240 px JPEG of a photo; 404 `no_thumbnail` for a document."""
    thumbnail = _store(context).thumbnail(document_id)
    if thumbnail is None:
        raise ApiError(404, "no_thumbnail", f"upload {document_id!r} is a document, not a photo")
    return _file_response(thumbnail, "image/jpeg")


# ----- the customer's chat ----------------------------------------------------------------------


@router.post(
    "/sessions/{session_id}/uploads",
    status_code=201,
    tags=["sessions"],
    summary="Send a photo or document in the chat",
    responses=errors(401, 403, 404, 413, 415, 422, 429),
)
def upload_in_session(
    context: Context,
    session_id: SessionId,
    file: FilePart,
    who: CustomerChannel,
    secret: SessionSecret,
    claim_no: Annotated[
        str | None,
        Form(max_length=32, description="the customer's claim the photo is for (once verified)"),
    ] = None,
) -> UploadReceipt:
    """Store the customer's photo or PDF with the conversation; with `claim_no`, also with the
    claim, which must be the verified customer's (403 before the identity check, 404 for a claim
    that is not theirs). A claim's photos keep their position (where the accident happened)."""
    services = context.services
    if not services.conversations.check_secret(session_id, secret):
        raise ApiError(
            401, "session_secret_invalid", "this session secret does not open this session"
        )
    per_minute = services.settings.api_messages_per_minute
    verdict = services.rate_counters.hit(f"{who.client}:uploads", per_minute, RATE_WINDOW)
    if not verdict.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {per_minute} requests a minute from this client; wait and retry",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    conversation = services.conversations.load(session_id)[0]
    store = services.uploads
    if claim_no is not None:
        if conversation.customer_id is None:
            raise ApiError(
                403,
                "identity_not_verified",
                "confirm who you are in the chat first (policy or claim number and the last "
                "four digits of your phone), then send the claim's photos",
                field="claim_no",
            )
        if store.claim_owner(claim_no) != conversation.customer_id:
            raise ApiError(
                404, "claim_not_found", f"no claim {claim_no!r} among yours", field="claim_no"
            )
    data = _read(services, file)
    desk = services.selfservice_desk
    stored = _add(
        lambda: desk.receive(conversation, data, file.filename or "", file.content_type, claim_no)
    )
    return UploadReceipt(
        id=stored.id,
        kind=stored.kind,
        size=stored.size,
        claim_no=stored.claim_no,
        original_name=stored.original_name,
    )
