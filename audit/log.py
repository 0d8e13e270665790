"""The audit log: who did what to which item, when. Append-only, viewable and exportable.

``record`` can join a caller's transaction (pass its ``Connection``) so a state change and its
audit entry commit together or not at all. Personal identifiers in targets and details are masked.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import (
    Connection,
    insert,
    select,
)

from core.errors import PolicyDeskError
from core.masking import redact
from core.sql import as_utc
from db.schema import audit_table
from db.store import SqlStore

MAX_DETAIL_CHARS = 2000
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "detail")
# a cell starting with one of these is a formula to a spreadsheet program
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AuditError(PolicyDeskError):
    """An audit entry that cannot be recorded (no actor, no action)."""


class AuditEntry(BaseModel):
    """One recorded action."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str = ""


class AuditFilter(BaseModel):
    """Which entries to show; every field is optional and they combine with AND."""

    actor: str | None = None
    action: str | None = Field(default=None, description="exact action, or a prefix ending '.'")
    target: str | None = None
    since: datetime | None = Field(default=None, description="inclusive")
    until: datetime | None = Field(default=None, description="exclusive")


class AuditLog(SqlStore):
    """Appends and reads audit entries."""

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: str = "",
        *,
        connection: Connection | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry.

        Args:
            actor: the username who acted ("system" for set-up jobs).
            action: a dotted name such as ``kb.publish``.
            target: what was acted on (an item id, a username).
            detail: free text; ID, phone and card numbers are masked, and it is cut at 2000 chars.
            connection: the caller's open transaction, to commit together with its change.
            at: the time (now by default).

        Raises:
            AuditError: a blank actor or action.
        """
        who, what = actor.strip(), action.strip()
        if not who or not what:
            raise AuditError(
                f"an audit entry needs an actor and an action (got {actor!r}, {action!r})"
            )
        values = {
            "at": as_utc(at) if at is not None else datetime.now(UTC),
            "actor": who[:64],
            "action": what[:40],
            "target": redact(target.strip())[:200],
            "detail": redact(detail.strip())[:MAX_DETAIL_CHARS],
        }
        with self.transaction(connection) as conn:
            key = conn.execute(insert(audit_table).values(**values)).inserted_primary_key
        assert key is not None
        return AuditEntry(id=int(key[0]), **values)

    def entries(self, filters: AuditFilter | None = None, limit: int = 500) -> list[AuditEntry]:
        """Entries matching the filters, newest first."""
        f = filters or AuditFilter()
        query = select(audit_table).order_by(audit_table.c.at.desc(), audit_table.c.id.desc())
        if f.actor:
            query = query.where(audit_table.c.actor == f.actor.strip())
        if f.action:
            if f.action.endswith("."):
                query = query.where(audit_table.c.action.startswith(f.action, autoescape=True))
            else:
                query = query.where(audit_table.c.action == f.action)
        if f.target:
            query = query.where(audit_table.c.target == f.target.strip())
        if f.since is not None:
            query = query.where(audit_table.c.at >= f.since)
        if f.until is not None:
            query = query.where(audit_table.c.at < f.until)
        with self.reading() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [
            AuditEntry(
                id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                target=row.target,
                detail=row.detail,
            )
            for row in rows
        ]


def export_csv(entries: Sequence[AuditEntry]) -> str:
    """Entries as CSV text with a header row; times in ISO 8601 UTC.

    Cells that a spreadsheet would run as a formula are prefixed with ``'``. Encode the result as
    ``utf-8-sig`` when the file is meant for Excel, so Chinese text opens correctly.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        cells = [
            str(entry.id),
            entry.at.astimezone(UTC).isoformat(timespec="seconds"),
            entry.actor,
            entry.action,
            entry.target,
            entry.detail,
        ]
        writer.writerow([_safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value
