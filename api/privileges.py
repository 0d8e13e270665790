"""Member privileges (会员权益): this year's used/left per privilege, and booking one use.

- ``GET /v1/customers/{customer_id}/privileges?year=`` → the customer's tier and, per privilege
  the tier includes, the year's quota, uses and what is left (``quota``/``left`` null:
  unlimited).
- ``POST /v1/customers/{customer_id}/privileges/{key}/bookings`` ``{"for_when", "place",
  "notes"}`` → 201 the booking (audited, ``by`` is the token's agent).
  422 ``privilege_not_included`` when the tier does not include it (a fact about the customer,
  not about the caller's rights, so not 403); 409 ``quota_exhausted`` when the year's quota is
  used up; 404 ``privilege_not_found`` for an unknown key.
- ``DELETE /v1/customers/{customer_id}/privileges/bookings/{booking_id}`` → the cancelled
  booking; its use goes back to the quota (404 for another customer's booking).

Staff only: an agent's token (401 without one, 403 for an API key).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.context import Context, errors
from api.errors import customer_not_found
from api.schemas import PrivilegeBookingIn
from api.security import Agent
from customers.bookings import PrivilegeBooking, PrivilegeUsageReport
from customers.store import CustomerNotFoundError

CustomerId = Annotated[str, Path(min_length=1, max_length=32)]
PrivilegeKey = Annotated[str, Path(min_length=2, max_length=40, pattern=r"^[a-z][a-z_]+$")]
BookingId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(tags=["privileges"], responses=errors(401, 403))


@router.get(
    "/v1/customers/{customer_id}/privileges",
    summary="A member's privileges with this year's used/left",
    responses=errors(404, 422),
)
def privilege_usage(
    context: Context,
    customer_id: CustomerId,
    user: Agent,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="calendar year; none: this year")
    ] = None,
) -> PrivilegeUsageReport:
    """Per privilege the customer's tier includes: quota, used and left for the year (centre
    time zone). 404 unknown customer."""
    try:
        return context.services.privilege_service.usage(customer_id, year)
    except CustomerNotFoundError as exc:
        raise customer_not_found(exc) from exc


@router.post(
    "/v1/customers/{customer_id}/privileges/{key}/bookings",
    status_code=201,
    summary="Book one use of a privilege",
    responses=errors(404, 409, 422),
)
def book_privilege(
    context: Context,
    customer_id: CustomerId,
    key: PrivilegeKey,
    body: PrivilegeBookingIn,
    user: Agent,
    response: Response,
) -> PrivilegeBooking:
    """Book a designated driver, a rescue, an inspection run... for the customer, if the tier
    includes it (422 ``privilege_not_included``) and the year's quota has a use left (409
    ``quota_exhausted``); audited."""
    try:
        booking = context.services.privilege_service.book(
            customer_id, key, body.for_when, user.username, place=body.place, notes=body.notes
        )
    except CustomerNotFoundError as exc:
        raise customer_not_found(exc) from exc
    response.headers["Location"] = f"/v1/customers/{customer_id}/privileges/bookings/{booking.id}"
    return booking


@router.delete(
    "/v1/customers/{customer_id}/privileges/bookings/{booking_id}",
    summary="Cancel a privilege booking",
    responses=errors(404, 422),
)
def cancel_privilege_booking(
    context: Context, customer_id: CustomerId, booking_id: BookingId, user: Agent
) -> PrivilegeBooking:
    """Cancel the booking; its use goes back to the year's quota (cancelling twice changes
    nothing). 404 unknown booking or another customer's."""
    return context.services.privilege_service.cancel(booking_id, user.username, customer_id)
