"""The call-event API: the telephony connector opens calls and posts transcript segments (a
``calls`` API key); agents and the supervisor floor read them (an agent's token).

Contract (scripts depend on it):

- ``POST /v1/calls`` ``{"call_id"?, "caller_number", "agent", "customer_id"?}`` → 201
  ``{"call_id", "customer_id"}`` (the caller's number finds the customer; unknown: anonymous).
- ``POST /v1/calls/{call_id}/segments`` ``{"seq", "speaker", "text", "final"}`` → 200
  ``{"call_id", "seq", "assist"}``: a final segment's ``assist`` is one line of
  ``policydesk assist --json``; an interim one's is null. The same ``(call_id, seq)`` again
  returns the same answer and adds nothing.
- ``POST /v1/calls/{call_id}/end`` → 200 the wrap-up draft.
- ``GET /v1/calls?state=live`` and ``GET /v1/calls/{call_id}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from accounts.apikeys import ApiScope
from accounts.models import User
from accounts.permissions import Action, can
from api.context import Context, errors
from api.errors import ApiError
from api.schemas import CallCreate, CallList, CallOpened, CallView, SegmentIn, WrapUpDraft
from api.security import AnyCaller, Caller
from calls.models import MAX_CALL_ID_CHARS, CallState, NewCall, NewSegment, SegmentResult

CallId = Annotated[str, Path(min_length=1, max_length=MAX_CALL_ID_CHARS)]


def telephony(who: AnyCaller) -> Caller:
    """The telephony connector: an API key with scope ``calls``.

    Raises:
        ApiError: 401 without a key, 403 with another kind of credential.
    """
    if who.kind == "anonymous":
        raise ApiError(
            401,
            "unauthorized",
            "the call events need a calls API key (Authorization: Bearer pdk_calls_…)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if who.key is None or who.key.scope is not ApiScope.CALLS:
        raise ApiError(403, "forbidden", "only the telephony connector (a calls key) posts calls")
    return who


def reader(who: AnyCaller) -> Caller:
    """Who may read calls: the telephony connector, agents (their own calls) and supervisors.

    Raises:
        ApiError: 401 anonymous; 403 a key of another scope or an account without the console.
    """
    if who.kind == "anonymous":
        raise ApiError(
            401,
            "unauthorized",
            "log in (an agent) or use a calls key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if who.key is not None and who.key.scope is not ApiScope.CALLS:
        raise ApiError(403, "forbidden", "a chat key cannot read calls")
    if who.user is not None and not can(who.user, Action.USE_CONSOLE):
        raise ApiError(403, "forbidden", f"{who.user.username} may not read calls")
    return who


Telephony = Annotated[Caller, Depends(telephony)]
Reader = Annotated[Caller, Depends(reader)]


def _sees_every_call(user: User | None) -> bool:
    return user is None or can(user, Action.MONITOR_CALLS)


router = APIRouter(prefix="/v1/calls", tags=["calls"], responses=errors(401, 403))


@router.post("", status_code=201, summary="Open a call", responses=errors(409, 422))
def open_call(context: Context, body: CallCreate, response: Response, who: Telephony) -> CallOpened:
    """A call reached an agent: open it and find the customer by the caller's number."""
    started = context.services.calls.start(NewCall.model_validate(body.model_dump()))
    response.headers["Location"] = f"/v1/calls/{started.call_id}"
    return CallOpened(call_id=started.call_id, customer_id=started.customer_id)


@router.post(
    "/{call_id}/segments", summary="Post a transcript segment", responses=errors(404, 409, 422)
)
def post_segment(
    context: Context, call_id: CallId, body: SegmentIn, who: Telephony
) -> SegmentResult:
    """One piece of the speech-to-text transcript. A final segment runs the assist pipeline and
    returns what the console shows; an interim one only updates the live transcript. The same
    `(call_id, seq)` again returns the same result; segments are placed by `seq`. 404 unknown
    call, 409 an ended call."""
    return context.services.calls.add_segment(call_id, NewSegment.model_validate(body.model_dump()))


@router.post("/{call_id}/end", summary="End a call", responses=errors(404, 409))
def end_call(context: Context, call_id: CallId, who: Telephony) -> WrapUpDraft:
    """The call is over: the wrap-up draft the agent reviews and saves."""
    return WrapUpDraft.from_summary(call_id, context.services.calls.end(call_id))


@router.get("", summary="List calls", responses=errors(422))
def list_calls(
    context: Context,
    who: Reader,
    state: Annotated[
        Literal["live", "ended", "all"], Query(description="which calls; all for both")
    ] = "live",
) -> CallList:
    """Calls, newest first (live calls: the riskiest first). An agent sees their own."""
    wanted = None if state == "all" else CallState(state)
    found = context.services.calls.calls(wanted)
    if not _sees_every_call(who.user):
        assert who.user is not None
        found = [c for c in found if c.agent == who.user.username]
    return CallList(items=[CallView.from_call(c, with_segments=False) for c in found])


@router.get("/{call_id}", summary="Read a call", responses=errors(404, 422))
def get_call(context: Context, call_id: CallId, who: Reader) -> CallView:
    """One call with its live transcript (redacted) and the latest assist view."""
    call = context.services.calls.get(call_id)
    if not _sees_every_call(who.user) and who.user is not None and call.agent != who.user.username:
        raise ApiError(404, "call_not_found", f"no call {call_id!r}")
    return CallView.from_call(call, with_segments=True)
