"""The handoff queue in SQL: submit, list by priority and wait, accept atomically, resolve.

Each handoff is one row: the columns the queue sorts and claims on, and the package as JSON.
Accepting is a single conditional UPDATE (``state = 'waiting'``), so of two agents clicking at
the same moment exactly one wins, on SQLite and PostgreSQL alike. Everything is committed before
a call returns, so a restart loses nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    select,
    update,
)

from chatbot.handoff import HandoffRequest, HandoffState, NewHandoff, priority_for
from core.errors import PolicyDeskError
from core.masking import redact
from db.changes import Change, ChangeWatcher
from db.schema import handoffs
from db.store import SqlStore

MAX_AGENT_CHARS = 64
MAX_RESOLUTION_CHARS = 2000


def new_handoff_id() -> str:
    """An unguessable handoff id."""
    return "H" + secrets.token_hex(8)


class HandoffNotFoundError(PolicyDeskError):
    """No handoff with that id."""


class HandoffStateError(PolicyDeskError):
    """The handoff is not in a state that allows this (already accepted, already resolved…)."""


def _agent(agent: str) -> str:
    name = agent.strip()
    if not name:
        raise HandoffStateError("an agent ID is required")
    if len(name) > MAX_AGENT_CHARS:
        raise HandoffStateError(f"the agent ID is longer than {MAX_AGENT_CHARS} characters")
    return name


class HandoffQueue(SqlStore):
    """Stores handoffs and moves them waiting → accepted → resolved.

    Args:
        engine: the database.
        watcher: this process's change notices (``SqlStore``): the waiting list is re-read only
            after a change.
        on_accept: told, after each accept, how many seconds the handoff waited (telemetry).
    """

    ANNOUNCES = Change.HANDOFF

    def __init__(
        self,
        engine: Engine,
        watcher: ChangeWatcher | None = None,
        on_accept: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(engine, watcher)
        self._on_accept = on_accept

    def submit(
        self,
        new: NewHandoff,
        now: datetime | None = None,
        handoff_id: str | None = None,
        connection: Connection | None = None,
    ) -> HandoffRequest:
        """Queue a handoff; the transcript is redacted (ID, phone and card numbers).

        Args:
            new: the package.
            now: the time it was queued (default: now).
            handoff_id: the id decided beforehand (``new_handoff_id``); generated when None.
            connection: write inside the caller's transaction (the conversation's save).
        """
        when = now or datetime.now(UTC)
        transcript = [t.model_copy(update={"text": redact(t.text)}) for t in new.transcript]
        package = new.model_copy(
            update={"transcript": transcript, "bot_answers": [redact(a) for a in new.bot_answers]}
        )
        request = HandoffRequest(
            **package.model_dump(),
            id=handoff_id or new_handoff_id(),
            priority=priority_for(new.reasons),
            state=HandoffState.WAITING,
            created_at=when,
        )
        row = insert(handoffs).values(
            id=request.id,
            session_id=request.session_id,
            state=request.state.value,
            priority=request.priority,
            created_at=when,
            payload=package.model_dump(mode="json"),
        )
        with self.transaction(connection) as conn:
            conn.execute(row)
        return request

    def get(self, handoff_id: str) -> HandoffRequest:
        """One handoff.

        Raises:
            HandoffNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).first()
        if row is None:
            raise HandoffNotFoundError(f"no handoff {handoff_id!r}")
        return self._request(row)

    def list(
        self, state: HandoffState | None = HandoffState.WAITING, limit: int = 200
    ) -> list[HandoffRequest]:
        """Handoffs in ``state`` (all when None): most urgent first, then longest waiting."""
        query = select(handoffs).order_by(handoffs.c.priority, handoffs.c.created_at)
        if state is not None:
            query = query.where(handoffs.c.state == state.value)

        def load() -> list[HandoffRequest]:
            with self.reading() as conn:
                rows = conn.execute(query.limit(limit)).all()
            return [self._request(row) for row in rows]

        # every console asks every second: on PostgreSQL, read again only after a change
        return list(self.remembered(("list", state, limit), load))

    def counts(self) -> dict[HandoffState, int]:
        """How many handoffs are in each state."""
        with self.reading() as conn:
            rows = conn.execute(
                select(handoffs.c.state, func.count()).group_by(handoffs.c.state)
            ).all()
        found = {HandoffState(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in HandoffState}

    def accept(self, handoff_id: str, agent: str, now: datetime | None = None) -> HandoffRequest:
        """Claim a waiting handoff for ``agent``; exactly one of two racing agents wins.

        Raises:
            HandoffNotFoundError: unknown id.
            HandoffStateError: no agent ID, or the handoff is no longer waiting.
        """
        name = _agent(agent)
        with self.transaction() as conn:
            changed = conn.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff_id, handoffs.c.state == HandoffState.WAITING)
                .values(
                    state=HandoffState.ACCEPTED.value,
                    accepted_by=name,
                    accepted_at=now or datetime.now(UTC),
                )
            ).rowcount
        if changed != 1:
            current = self.get(handoff_id)  # raises for an unknown id
            raise HandoffStateError(
                f"handoff {handoff_id} was already {current.state.value}"
                + (f" by {current.accepted_by}" if current.accepted_by else "")
            )
        accepted = self.get(handoff_id)
        if self._on_accept is not None and accepted.accepted_at is not None:
            self._on_accept((accepted.accepted_at - accepted.created_at).total_seconds())
        return accepted

    def resolve(
        self, handoff_id: str, agent: str, resolution: str, now: datetime | None = None
    ) -> HandoffRequest:
        """Close a handoff the same agent accepted.

        Raises:
            HandoffNotFoundError: unknown id.
            HandoffStateError: not accepted, accepted by someone else, or an empty resolution.
        """
        name = _agent(agent)
        text = resolution.strip()
        if not text:
            raise HandoffStateError("a resolution note is required")
        if len(text) > MAX_RESOLUTION_CHARS:
            raise HandoffStateError(
                f"the resolution note is longer than {MAX_RESOLUTION_CHARS} characters"
            )
        with self.transaction() as conn:
            changed = conn.execute(
                update(handoffs)
                .where(
                    handoffs.c.id == handoff_id,
                    handoffs.c.state == HandoffState.ACCEPTED,
                    handoffs.c.accepted_by == name,
                )
                .values(
                    state=HandoffState.RESOLVED.value,
                    resolved_at=now or datetime.now(UTC),
                    resolution=redact(text),
                )
            ).rowcount
        if changed != 1:
            current = self.get(handoff_id)
            if current.state is HandoffState.ACCEPTED:
                raise HandoffStateError(
                    f"handoff {handoff_id} was accepted by {current.accepted_by}, not {name}"
                )
            raise HandoffStateError(
                f"handoff {handoff_id} is {current.state.value}; only an accepted handoff "
                "can be resolved"
            )
        return self.get(handoff_id)

    def remove_for_sessions(self, prefix: str) -> int:
        """Delete the handoffs of conversations whose id starts with ``prefix`` (generated data
        such as the demo history's scenario runs); returns how many."""
        like = handoffs.c.session_id.startswith(prefix, autoescape=True)
        with self.transaction() as conn:
            return int(conn.execute(delete(handoffs).where(like)).rowcount)

    @staticmethod
    def _request(row: object) -> HandoffRequest:
        mapping = row._mapping  # type: ignore[attr-defined]
        return HandoffRequest.model_validate(
            {
                **mapping["payload"],
                "id": mapping["id"],
                "priority": mapping["priority"],
                "state": mapping["state"],
                "created_at": mapping["created_at"],
                "accepted_by": mapping["accepted_by"],
                "accepted_at": mapping["accepted_at"],
                "resolved_at": mapping["resolved_at"],
                "resolution": mapping["resolution"],
            }
        )
