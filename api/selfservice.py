"""The staff side of the self-service claim records (微理赔): what a customer reported, booked and
asked to withdraw, and the person's decision on a withdrawal.

- ``GET /v1/customers/{customer_id}/selfservice`` → the customer's reported claims, appointments
  and withdrawal requests, newest first.
- ``GET /v1/selfservice/withdrawals?state=pending`` → withdrawal requests, oldest first.
- ``POST /v1/selfservice/withdrawals/{id}/decision`` ``{"approve", "note"}`` → the decided
  request: approval withdraws the claim (stage 已撤案); a refusal needs a note; 409 when it was
  decided already.

All of them need a logged-in agent or supervisor (``Authorization: Bearer <token>``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.context import Context, errors
from api.errors import customer_not_found
from api.schemas import WithdrawalDecisionIn, WithdrawalList
from api.security import Agent
from customers.models import SelfServiceSummary, WithdrawalRequest, WithdrawalState
from customers.store import CustomerNotFoundError

CustomerId = Annotated[str, Path(min_length=1, max_length=32)]
WithdrawalId = Annotated[int, Path(ge=1)]

router = APIRouter(tags=["selfservice"], responses=errors(401, 403))


@router.get(
    "/v1/customers/{customer_id}/selfservice",
    summary="A customer's self-service records",
    responses=errors(404, 422),
)
def customer_records(context: Context, customer_id: CustomerId, user: Agent) -> SelfServiceSummary:
    """Claims the customer reported themselves, their survey and mediation appointments, and
    their withdrawal requests with status. 404 `customer_not_found`."""
    try:
        return context.services.selfservice.records_for(customer_id)
    except CustomerNotFoundError as exc:
        raise customer_not_found(exc) from exc


@router.get(
    "/v1/selfservice/withdrawals", summary="List withdrawal requests", responses=errors(422)
)
def list_withdrawals(
    context: Context,
    user: Agent,
    state: Annotated[
        Literal["pending", "approved", "refused", "all"],
        Query(description="which requests; all for every state"),
    ] = "pending",
) -> WithdrawalList:
    """Requests oldest first: the longest-waiting customer on top."""
    wanted = None if state == "all" else WithdrawalState(state)
    return WithdrawalList(items=context.services.selfservice.withdrawals(wanted))


@router.post(
    "/v1/selfservice/withdrawals/{request_id}/decision",
    summary="Confirm or refuse a withdrawal",
    responses=errors(404, 409, 422),
)
def decide_withdrawal(
    context: Context, request_id: WithdrawalId, body: WithdrawalDecisionIn, user: Agent
) -> WithdrawalRequest:
    """The logged-in person confirms (the claim is withdrawn, with a timeline event) or refuses
    (a note says why) a pending request; audited under their name. 409 when it was decided
    already or the claim was paid meanwhile."""
    return context.services.selfservice.decide(request_id, user.username, body.approve, body.note)
