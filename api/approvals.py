"""Approval requests (分层授权): an agent asks on one of their calls; a supervisor decides.

- ``POST /v1/calls/{call_id}/approvals`` ``{"action", "amount", "reason"}`` → 201 the request:
  ``state`` ``granted`` when the agent's level covers the amount, else ``pending``.
- ``GET /v1/approvals?state=pending`` → the requests (supervisors).
- ``POST /v1/approvals/{id}/decision`` ``{"approve", "note"}`` → the decided request
  (supervisors; a refusal needs a note; 409 when it is not pending).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from api.context import Context, errors
from api.schemas import ApprovalDecisionIn, ApprovalList, ApprovalRequestIn
from api.security import Agent
from calls.approvals import Approval, ApprovalState
from calls.models import MAX_CALL_ID_CHARS

CallId = Annotated[str, Path(min_length=1, max_length=MAX_CALL_ID_CHARS)]
ApprovalId = Annotated[int, Path(ge=1)]

router = APIRouter(tags=["approvals"], responses=errors(401, 403))


@router.post(
    "/v1/calls/{call_id}/approvals",
    status_code=201,
    summary="Request an approval on a call",
    responses=errors(404, 422),
)
def request_approval(
    context: Context, call_id: CallId, body: ApprovalRequestIn, user: Agent, response: Response
) -> Approval:
    """The logged-in agent asks to grant goodwill, a fast-track payment or a fee waiver on one of
    their calls. Within their level it is granted at once (`granted`); above, it waits for a
    supervisor (`pending`). 404 unknown call or another agent's."""
    approval = context.services.approvals.request(
        user, call_id, body.action, body.amount, body.reason
    )
    response.headers["Location"] = f"/v1/approvals/{approval.id}"
    return approval


@router.get("/v1/approvals", summary="List approval requests", responses=errors(422))
def list_approvals(
    context: Context,
    user: Agent,
    state: Annotated[
        Literal["pending", "granted", "approved", "refused", "all"],
        Query(description="which requests; all for every state"),
    ] = "pending",
) -> ApprovalList:
    """Requests oldest first (supervisors only: 403 otherwise)."""
    wanted = None if state == "all" else ApprovalState(state)
    return ApprovalList(items=context.services.approvals.listing(user, wanted))


@router.post(
    "/v1/approvals/{approval_id}/decision",
    summary="Approve or refuse a request",
    responses=errors(404, 409, 422),
)
def decide_approval(
    context: Context, approval_id: ApprovalId, body: ApprovalDecisionIn, user: Agent
) -> Approval:
    """A supervisor approves or refuses a pending request (a refusal needs a note); audited.
    409 when it is decided already or was granted by the agent's level."""
    return context.services.approvals.decide(user, approval_id, body.approve, body.note)
