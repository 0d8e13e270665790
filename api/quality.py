"""Quality and KPIs over HTTP: a finished contact's scorecard, its post-call survey, the KPIs.

Contract:

- ``GET /v1/contacts/{contact_id}`` → the contact as recorded and scored (an agent reads their
  own; a supervisor or the telephony connector any). 404 while it is not recorded.
- ``POST /v1/contacts/{contact_id}/survey`` ``{"nps"?: 0-10, "csat"?: 1-5}`` → the contact: the
  telephony side's post-call survey (IVR), with a ``calls`` key.
- ``GET /v1/kpis?from=&to=&team=&agent=`` → ``{"period", "metrics": {name: {"value",
  "definition", "n", ...}}}`` for a supervisor.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, ValidationError

from accounts.permissions import Action, can
from api.calls import Reader, Telephony
from api.context import Context, errors
from api.errors import ApiError
from api.security import AnyCaller
from quality.kpis import KpiFilter, KpiReport, default_period
from quality.models import ContactRecord, Survey

ContactId = Annotated[str, Path(min_length=1, max_length=64)]

router = APIRouter(prefix="/v1", tags=["quality"], responses=errors(401, 403))


class SurveyIn(BaseModel):
    """The post-contact survey's answers (at least one)."""

    nps: int | None = Field(default=None, ge=0, le=10, description="likely to recommend, 0-10")
    csat: int | None = Field(default=None, ge=1, le=5, description="satisfied, 1-5")


def _not_recorded(contact_id: str) -> ApiError:
    return ApiError(
        404, "contact_not_found", f"no finished contact {contact_id!r} (still live, or unknown)"
    )


@router.get(
    "/contacts/{contact_id}",
    summary="A finished contact and its scorecard",
    responses=errors(404, 422),
)
def get_contact(context: Context, contact_id: ContactId, who: Reader) -> ContactRecord:
    """The contact as recorded when it ended, with its automated scorecard and survey."""
    contact = context.services.quality.find(contact_id)
    if contact is None:
        raise _not_recorded(contact_id)
    user = who.user
    if user is not None and not can(user, Action.MONITOR_CALLS) and contact.agent != user.username:
        raise _not_recorded(contact_id)
    return contact


@router.post(
    "/contacts/{contact_id}/survey",
    summary="Record the post-call survey",
    responses=errors(404, 422),
)
def post_survey(
    context: Context, contact_id: ContactId, body: SurveyIn, who: Telephony
) -> ContactRecord:
    """The customer's answers to the post-call survey (the IVR asks them after the call)."""
    if body.nps is None and body.csat is None:
        raise ApiError(422, "invalid_survey", "give nps (0-10), csat (1-5) or both", field="nps")
    if context.services.quality.find(contact_id) is None:
        raise _not_recorded(contact_id)
    return context.services.quality.record_survey(contact_id, Survey(nps=body.nps, csat=body.csat))


@router.get("/kpis", summary="The centre's KPIs", responses=errors(422))
def get_kpis(
    context: Context,
    who: AnyCaller,
    start: Annotated[date | None, Query(alias="from", description="first day")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day")] = None,
    team: Annotated[str | None, Query(max_length=32)] = None,
    agent: Annotated[str | None, Query(max_length=64)] = None,
) -> KpiReport:
    """Every figure over the period (default: the last 90 days), with its definition and n."""
    if who.user is None or not can(who.user, Action.MONITOR_CALLS):
        raise ApiError(403, "forbidden", "the KPIs are for supervisors")
    first, last = default_period(context.services.quality.today(), end)
    first = start or first
    try:
        view = KpiFilter(start=first, end=last, team=team, agent=agent)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ApiError(422, "invalid_period", message, field="from") from None
    return context.services.quality.kpis(view)
