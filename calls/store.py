"""Calls and their segments in SQL: every worker sees the same call, a restart loses nothing.

A segment is one row keyed by ``(call_id, seq)``: the same segment sent twice finds its row and
adds nothing. The call row carries a version: a write only succeeds against the version it read,
so two workers handling segments of one call cannot overwrite each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from calls.models import Call, CallInfo, CallState, Channel, Segment
from core.errors import PolicyDeskError
from db.changes import Change
from db.schema import call_segments, calls_table
from db.store import SqlStore


class CallNotFoundError(PolicyDeskError):
    """No call with that id."""


class CallEndedError(PolicyDeskError):
    """The call has ended: it takes no more segments."""


class CallExistsError(PolicyDeskError):
    """A call with that id was already opened."""


class CallBusyError(PolicyDeskError):
    """Another segment of the call was saved at the same moment (send it again)."""


def _call(row: Any, segments: list[Segment]) -> Call:
    return Call(
        id=row.id,
        agent=row.agent,
        customer_id=row.customer_id,
        caller=row.caller,
        channel=Channel(row.channel),
        handoff_id=row.handoff_id,
        state=CallState(row.state),
        started_at=row.started_at,
        ended_at=row.ended_at,
        info=CallInfo.model_validate(row.payload),
        segments=segments,
        version=row.version,
    )


def _segment(row: Any) -> Segment:
    return Segment.model_validate(
        {
            "seq": row.seq,
            "speaker": row.speaker,
            "text": row.text,
            "final": row.final,
            "received_at": row.received_at,
            "assist": row.assist,
        }
    )


class CallStore(SqlStore):
    """Opens, reads and updates calls."""

    ANNOUNCES = Change.CALL

    def create(self, call: Call) -> Call:
        """Store a new live call.

        Raises:
            CallExistsError: the id is taken.
        """
        try:
            with self.transaction() as conn:
                conn.execute(
                    insert(calls_table).values(
                        id=call.id,
                        agent=call.agent,
                        customer_id=call.customer_id,
                        caller=call.caller,
                        channel=call.channel.value,
                        handoff_id=call.handoff_id,
                        state=call.state.value,
                        started_at=call.started_at,
                        updated_at=call.started_at,
                        version=1,
                        payload=call.info.model_dump(mode="json"),
                    )
                )
        except IntegrityError:
            raise CallExistsError(f"call {call.id!r} was already opened") from None
        return call

    def get(self, call_id: str, connection: Connection | None = None) -> Call:
        """A call with every segment.

        Raises:
            CallNotFoundError: unknown id.
        """
        with self.reading(connection) as conn:
            row = conn.execute(select(calls_table).where(calls_table.c.id == call_id)).first()
            if row is None:
                raise CallNotFoundError(f"no call {call_id!r}")
            segments = conn.execute(
                select(call_segments)
                .where(call_segments.c.call_id == call_id)
                .order_by(call_segments.c.seq)
            ).all()
        return _call(row, [_segment(s) for s in segments])

    def listing(self, state: CallState | None = None, limit: int = 200) -> list[Call]:
        """Calls, newest first, without their segments' assist views (the floor's list)."""
        query = select(calls_table).order_by(calls_table.c.started_at.desc()).limit(limit)
        if state is not None:
            query = query.where(calls_table.c.state == state.value)
        return list(self.remembered(("listing", state, limit), lambda: self._calls(query)))

    def for_handoff(self, handoff_id: str) -> Call | None:
        """The contact a chat handoff was taken into, if any."""
        with self.reading() as conn:
            found = conn.execute(
                select(calls_table.c.id).where(calls_table.c.handoff_id == handoff_id)
            ).first()
        return self.get(found.id) if found is not None else None

    def live_for(self, agent: str) -> list[Call]:
        """An agent's live contacts, newest first (without segments)."""
        query = (
            select(calls_table)
            .where(calls_table.c.agent == agent, calls_table.c.state == CallState.LIVE.value)
            .order_by(calls_table.c.started_at.desc())
        )
        # every console asks every second: on PostgreSQL, read again only after a change
        return list(self.remembered(("live_for", agent), lambda: self._calls(query)))

    def _calls(self, query: Select[Any]) -> list[Call]:
        with self.reading() as conn:
            return [_call(row, []) for row in conn.execute(query)]

    def save_segment(self, call: Call, segment: Segment, info: CallInfo) -> None:
        """Add or replace one segment and update the call's info, against the version read.

        An interim segment is replaced by a later one with the same ``seq``; a final one is
        never replaced (the caller checks that first).

        Raises:
            CallBusyError: another segment of the call was saved meanwhile.
        """
        now = datetime.now(UTC)
        values = {
            "speaker": segment.speaker.value,
            "text": segment.text,
            "final": segment.final,
            "received_at": segment.received_at,
            "assist": segment.assist.model_dump(mode="json") if segment.assist else None,
        }
        with self.transaction() as conn:
            self._bump(conn, call, info=info.model_dump(mode="json"), now=now)
            existing = conn.execute(
                select(call_segments.c.final).where(
                    call_segments.c.call_id == call.id, call_segments.c.seq == segment.seq
                )
            ).first()
            if existing is None:
                conn.execute(
                    insert(call_segments).values(call_id=call.id, seq=segment.seq, **values)
                )
            else:
                conn.execute(
                    update(call_segments)
                    .where(call_segments.c.call_id == call.id, call_segments.c.seq == segment.seq)
                    .values(**values)
                )

    def update_info(self, call: Call, info: CallInfo, **values: Any) -> Call:
        """Change the call's info (and columns such as ``customer_id``) against the version read.

        Raises:
            CallBusyError: the call changed meanwhile.
        """
        with self.transaction() as conn:
            self._bump(
                conn, call, info=info.model_dump(mode="json"), now=datetime.now(UTC), **values
            )
        return self.get(call.id)

    def end(self, call: Call, at: datetime | None = None) -> Call:
        """Mark the call ended (now, or at ``at``: a recorded call, e.g. the demo history).

        Raises:
            CallBusyError: the call changed meanwhile.
        """
        now = at or datetime.now(UTC)
        with self.transaction() as conn:
            self._bump(conn, call, info=None, now=now, state=CallState.ENDED.value, ended_at=now)
        return self.get(call.id)

    def remove_prefixed(self, prefix: str) -> int:
        """Delete the calls (and their segments) whose id starts with ``prefix``: generated data
        such as the demo history (``demo-``) being replaced. Returns how many calls."""
        like = calls_table.c.id.startswith(prefix, autoescape=True)
        with self.transaction() as conn:
            ids = select(calls_table.c.id).where(like)
            conn.execute(delete(call_segments).where(call_segments.c.call_id.in_(ids)))
            return int(conn.execute(delete(calls_table).where(like)).rowcount)

    @staticmethod
    def _bump(
        conn: Connection, call: Call, info: dict[str, Any] | None, now: datetime, **values: Any
    ) -> None:
        changes: dict[str, Any] = {"version": call.version + 1, "updated_at": now, **values}
        if info is not None:
            changes["payload"] = info
        changed = conn.execute(
            update(calls_table)
            .where(calls_table.c.id == call.id, calls_table.c.version == call.version)
            .values(**changes)
        ).rowcount
        if changed != 1:
            raise CallBusyError(f"call {call.id} changed at the same moment; send it again")
