"""Approval requests (分层授权): an agent asks to grant a customer goodwill, a fast-track payment or
a fee waiver on a call.

Within the agent's level the request is granted at once (recorded, audited: the level is the
authority); above it, it waits for a supervisor, who sees the call, the agent, their level, the
amount and the reason, and approves or refuses (a refusal says why). Every state change and its
audit entry commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, insert, select, update

from accounts.authority import (
    AuthorityAction,
    AuthorityError,
    AuthorityLimits,
    Level,
    as_action,
    decide,
)
from accounts.models import User
from accounts.permissions import Action, PermissionDeniedError, can, require, roles_for
from audit.log import AuditLog
from calls.store import CallStore
from core.errors import PolicyDeskError
from core.masking import redact
from db.schema import approvals_table
from db.store import SqlStore

MAX_REASON_CHARS = 300


class ApprovalState(StrEnum):
    """Where a request stands."""

    GRANTED = "granted"
    """Within the agent's level: granted by the level itself, no supervisor needed."""
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class InvalidApprovalError(PolicyDeskError):
    """A request or decision with a bad value (unknown action, bad amount, no reason or note)."""


class ApprovalNotFoundError(PolicyDeskError):
    """No approval request with this id."""


class ApprovalStateError(PolicyDeskError):
    """The request is not pending any more (decided already, or granted by the level)."""


class ApprovalCallError(PolicyDeskError):
    """The call is not the requesting agent's."""


class Approval(BaseModel):
    """One request, as the agent and the supervisor see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    call_id: str
    agent: str
    level: Level
    action: AuthorityAction
    amount: float
    reason: str
    state: ApprovalState
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""
    limit: float | None = Field(
        default=None, description="the agent level's limit for the action when requested"
    )


def _approval(row: Any) -> Approval:
    return Approval(
        id=row.id,
        call_id=row.call_id,
        agent=row.agent,
        level=row.level,
        action=row.action,
        amount=row.amount,
        reason=row.reason,
        state=row.state,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note or "",
    )


def _text(text: str, what: str, required: bool = True) -> str:
    words = " ".join(text.split())
    if required and not words:
        raise InvalidApprovalError(f"the {what} is empty: say why")
    if len(words) > MAX_REASON_CHARS:
        raise InvalidApprovalError(f"the {what} has more than {MAX_REASON_CHARS} characters")
    return redact(words)


class ApprovalStore(SqlStore):
    """The ``approvals`` table."""

    def add(self, values: dict[str, object], connection: Connection) -> int:
        """Insert a request in the caller's transaction; its id."""
        result = connection.execute(insert(approvals_table).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def get(self, approval_id: int, connection: Connection | None = None) -> Approval:
        """One request.

        Raises:
            ApprovalNotFoundError: no such id.
        """
        with self.reading(connection) as conn:
            row = conn.execute(
                select(approvals_table).where(approvals_table.c.id == approval_id)
            ).first()
        if row is None:
            raise ApprovalNotFoundError(f"no approval request {approval_id}")
        return _approval(row)

    def settle(
        self,
        approval_id: int,
        state: ApprovalState,
        by: str,
        at: datetime,
        note: str,
        connection: Connection,
    ) -> bool:
        """Decide a pending request; False when it was not pending (any more)."""
        changed = connection.execute(
            update(approvals_table)
            .where(
                approvals_table.c.id == approval_id,
                approvals_table.c.state == ApprovalState.PENDING.value,
            )
            .values(state=state.value, decided_by=by, decided_at=at, note=note)
        ).rowcount
        return bool(changed)

    def listing(
        self, state: ApprovalState | None = None, call_id: str | None = None
    ) -> list[Approval]:
        """Requests, oldest first (the longest-waiting on top)."""
        query = select(approvals_table).order_by(
            approvals_table.c.requested_at, approvals_table.c.id
        )
        if state is not None:
            query = query.where(approvals_table.c.state == state.value)
        if call_id is not None:
            query = query.where(approvals_table.c.call_id == call_id)
        with self.reading() as conn:
            return [_approval(row) for row in conn.execute(query)]


class ApprovalService:
    """Agents' requests and supervisors' decisions.

    Args:
        store: the approvals table.
        calls: the call store (a request names one of the agent's calls).
        level_of: an agent's authority level by username.
        limits: the current authority rules.
        audit: where requests and decisions are recorded.
    """

    def __init__(
        self,
        store: ApprovalStore,
        calls: CallStore,
        level_of: Callable[[str], Level],
        limits: Callable[[], AuthorityLimits],
        audit: AuditLog,
    ) -> None:
        self._store = store
        self._calls = calls
        self._level_of = level_of
        self._limits = limits
        self._audit = audit

    def request(
        self,
        user: User,
        call_id: str,
        action: AuthorityAction | str,
        amount: float,
        reason: str,
        now: datetime | None = None,
    ) -> Approval:
        """Ask to grant ``amount`` 元 of ``action`` on one of the agent's calls.

        Within the agent's level it is granted at once; above, it waits for a supervisor.

        Raises:
            PermissionDeniedError: the user may not use the console.
            InvalidApprovalError: an unknown action, an amount that is not more than 0 and at
                most ``accounts.authority.MAX_AMOUNT``, an empty or over-long reason.
            CallNotFoundError: unknown call.
            ApprovalCallError: another agent's call.
        """
        require(user, Action.USE_CONSOLE)
        try:
            kind = as_action(action)
            level = self._level_of(user.username)
            decision = decide(self._limits(), level, kind, amount)
        except AuthorityError as exc:
            raise InvalidApprovalError(str(exc)) from exc
        why = _text(reason, "reason")
        call = self._calls.get(call_id)
        if call.agent != user.username:
            raise ApprovalCallError(f"call {call_id} belongs to {call.agent}")
        when = now or datetime.now(UTC)
        granted = decision.within_limit
        note = f"within the {level.value} limit of {decision.limit:g}" if granted else ""
        values: dict[str, object] = {
            "call_id": call_id,
            "agent": user.username,
            "level": level.value,
            "action": kind.value,
            "amount": decision.amount,
            "reason": why,
            "state": (ApprovalState.GRANTED if granted else ApprovalState.PENDING).value,
            "requested_at": when,
            "decided_at": when if granted else None,
            "note": note or None,
        }
        with self._store.transaction() as conn:
            approval_id = self._store.add(values, conn)
            self._audit.record(
                user.username,
                "approval.granted" if granted else "approval.request",
                call_id,
                f"#{approval_id} {kind.value} {decision.amount:g} ({level.value}, limit "
                f"{decision.limit:g}): {why}",
                connection=conn,
                at=when,
            )
        return self._store.get(approval_id).model_copy(update={"limit": decision.limit})

    def decide(
        self,
        supervisor: User,
        approval_id: int,
        approve: bool,
        note: str = "",
        now: datetime | None = None,
    ) -> Approval:
        """Approve or refuse a pending request (audited: who, when, the note).

        Raises:
            PermissionDeniedError: not a supervisor, or the supervisor's own request.
            InvalidApprovalError: a refusal without a note, an over-long note.
            ApprovalNotFoundError: unknown id.
            ApprovalStateError: the request is not pending (decided already, or granted by the
                level).
        """
        require(supervisor, Action.DECIDE_APPROVALS)
        words = _text(note, "note", required=not approve)
        approval = self._store.get(approval_id)
        if approval.agent == supervisor.username:
            raise PermissionDeniedError(
                supervisor.username,
                Action.DECIDE_APPROVALS,
                roles_for(Action.DECIDE_APPROVALS),
                reason="a request is decided by another supervisor than the one who made it",
            )
        state = ApprovalState.APPROVED if approve else ApprovalState.REFUSED
        when = now or datetime.now(UTC)
        with self._store.transaction() as conn:
            if not self._store.settle(approval_id, state, supervisor.username, when, words, conn):
                current = self._store.get(approval_id, conn)
                raise ApprovalStateError(
                    f"approval request {approval_id} is {current.state.value} already"
                )
            self._audit.record(
                supervisor.username,
                f"approval.{state.value}",
                approval.call_id,
                f"#{approval_id} {approval.action.value} {approval.amount:g} for "
                f"{approval.agent}" + (f": {words}" if words else ""),
                connection=conn,
                at=when,
            )
        return self._store.get(approval_id)

    def pending(self, supervisor: User) -> list[Approval]:
        """Requests waiting for a supervisor, longest waiting first.

        Raises:
            PermissionDeniedError: not a supervisor.
        """
        return self.listing(supervisor, ApprovalState.PENDING)

    def listing(self, supervisor: User, state: ApprovalState | None = None) -> list[Approval]:
        """Requests in a state (every state: None), oldest first.

        Raises:
            PermissionDeniedError: not a supervisor.
        """
        require(supervisor, Action.DECIDE_APPROVALS)
        return self._store.listing(state)

    def for_call(self, user: User, call_id: str) -> list[Approval]:
        """A call's requests, oldest first: for its agent or a supervisor.

        Raises:
            CallNotFoundError: unknown call.
            ApprovalCallError: another agent's call (a supervisor may read any).
        """
        call = self._calls.get(call_id)
        if call.agent != user.username and not can(user, Action.DECIDE_APPROVALS):
            raise ApprovalCallError(f"call {call_id} belongs to {call.agent}")
        return self._store.listing(call_id=call_id)
