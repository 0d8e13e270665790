"""The customer's rights and retention under the Personal Information Protection Law (PIPL).

* ``export``: everything personal about one customer, from every store, as one JSON document
  (a supervisor hands it to the customer on request).
* ``erase``: everything personal about one customer removed. What the insurer must keep by law
  (policies, claims and the record that a contact happened) stays, with the person's identifiers
  replaced; chat transcripts and handoffs are deleted.
* ``purge``: records older than their retention period deleted, per kind; idempotent.

Every run is audited; the audit entries name the customer id, never a personal value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, delete, select, update

from accounts.models import User
from accounts.permissions import Action, require
from audit.log import AuditFilter, AuditLog
from core.errors import PolicyDeskError
from customers.models import ERASED_NAME
from db.schema import (
    audit_table,
    call_segments,
    calls_table,
    claims,
    coaching_cases,
    contacts_table,
    conversations,
    customers,
    handoffs,
    identity_failures,
    interactions,
    login_attempts,
    outreach_messages,
    outreach_opt_outs,
    outreach_reminders,
    policies,
    rate_counters,
    reviews,
    selfservice_appointments,
    selfservice_reports,
    selfservice_withdrawals,
    vehicles,
)
from db.store import SqlStore

if TYPE_CHECKING:
    from customers.uploads import UploadStore

ERASED = "（已按客户要求删除）"
"""What stands where an erased personal value was."""


class RetentionPolicy(BaseModel):
    """How long each kind of record is kept, in days (from the settings)."""

    chat_days: int = Field(ge=1, description="chat transcripts, their handoffs and reviews")
    call_days: int = Field(
        ge=1, description="call summaries in the customers' history, and call transcripts"
    )
    audit_days: int = Field(ge=1, description="the audit log")
    security_days: int = Field(
        ge=1, description="login attempts, identity-check failures, rate counters"
    )


class PurgeReport(BaseModel):
    """What a purge removed (or would remove, on a dry run), per kind."""

    removed: dict[str, int]
    dry_run: bool


class ErasureReport(BaseModel):
    """What an erasure did to each store."""

    customer_id: str
    deleted: dict[str, int]
    anonymised: dict[str, int]


class CustomerUnknownError(PolicyDeskError):
    """No customer with that id (nothing was exported or erased)."""


PSEUDONYM_PREFIX = "ERASED-"


def _pseudonym(customer_id: str, value: str) -> str:
    """A stable stand-in for an identifier that other rows point to (a plate); as long as the
    plate column allows (PostgreSQL refuses a longer value, where SQLite stored it)."""
    room = int(vehicles.c.plate.type.length or 16) - len(PSEUDONYM_PREFIX)  # type: ignore[attr-defined]
    digest = hashlib.sha256(f"{customer_id}:{value}".encode()).hexdigest()[:room]
    return f"{PSEUDONYM_PREFIX}{digest}"


def _jsonable(row: Any) -> dict[str, Any]:
    return {
        key: (value.isoformat() if isinstance(value, date | datetime) else value)
        for key, value in row._mapping.items()
    }


class PrivacyService(SqlStore):
    """Exports, erases and purges personal data across every store.

    Args:
        engine: the shared engine (every store's tables are in the one schema).
        audit: where every run is recorded.
        retention: the retention periods.
        uploads: the customers' photos and documents (exported as records, erased with their
            files); none: nothing uploaded is touched.
    """

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        retention: RetentionPolicy,
        uploads: UploadStore | None = None,
    ) -> None:
        super().__init__(engine)
        self._audit = audit
        self.retention = retention
        self._uploads = uploads

    # ----- export ---------------------------------------------------------------------------

    def export(self, user: User, customer_id: str) -> dict[str, Any]:
        """Everything personal about a customer, unmasked (it is theirs), as JSON-ready data.

        Raises:
            PermissionDeniedError: not a supervisor.
            CustomerUnknownError: no such customer.
        """
        require(user, Action.HANDLE_PRIVACY_REQUESTS)
        with self.reading() as conn:
            person = self._customer(conn, customer_id)
            sessions = self._sessions(conn, customer_id)
            document: dict[str, Any] = {
                "customer": _jsonable(person),
                "vehicles": self._rows(conn, vehicles, vehicles.c.customer_id, customer_id),
                "policies": self._rows(conn, policies, policies.c.customer_id, customer_id),
                "claims": self._rows(conn, claims, claims.c.customer_id, customer_id),
                "contacts": self._rows(conn, interactions, interactions.c.customer_id, customer_id),
                "chats": [
                    {"id": sid, "created_at": created.isoformat(), "conversation": payload}
                    for sid, created, payload in sessions
                ],
                "handoffs": [
                    row["payload"] | {"id": row["id"], "state": row["state"]}
                    for row in self._in(
                        conn, handoffs, handoffs.c.session_id, [s[0] for s in sessions]
                    )
                ],
                "calls": self._calls(conn, customer_id),
                "quality_records": [
                    row["payload"]
                    for row in self._in(
                        conn,
                        contacts_table,
                        contacts_table.c.id,
                        self._contact_ids(conn, customer_id, [s[0] for s in sessions]),
                    )
                ],
                # outreach (车主秘书): the reminders and messages sent, and the opt-outs
                "reminder_messages": self._rows(
                    conn, outreach_messages, outreach_messages.c.customer_id, customer_id
                ),
                "reminders": self._rows(
                    conn, outreach_reminders, outreach_reminders.c.customer_id, customer_id
                ),
                "reminder_opt_outs": self._rows(
                    conn, outreach_opt_outs, outreach_opt_outs.c.customer_id, customer_id
                ),
            }
            if self._uploads is not None:
                document["uploads"] = self._uploads.export_rows(
                    conn, customer_id, [s[0] for s in sessions]
                )
            document["self_service"] = self._self_service(conn, customer_id)
        document["audit"] = [
            entry.model_dump(mode="json")
            for entry in self._audit.entries(AuditFilter(target=customer_id))
        ]
        document["exported_at"] = datetime.now(UTC).isoformat()
        self._audit.record(
            user.username, "privacy.export", customer_id, "on the customer's request"
        )
        return document

    # ----- erase ----------------------------------------------------------------------------

    def erase(self, user: User, customer_id: str) -> ErasureReport:
        """Remove a customer's personal data; keep, anonymised, what the law requires.

        Chat conversations in which the customer was identified, their handoffs and routing
        reviews are deleted, and so are the transcripts of the calls linked to the customer.
        The customer record keeps its id (policies and claims point to it) with name, phone and
        ID number replaced; plates become pseudonyms everywhere; claim descriptions and contact
        summaries are replaced. Uploaded photos and documents (the customer's, and those sent in
        their conversations) are deleted with their files. Idempotent: erasing again changes
        nothing more.

        Raises:
            PermissionDeniedError: not a supervisor.
            CustomerUnknownError: no such customer.
        """
        require(user, Action.HANDLE_PRIVACY_REQUESTS)
        deleted: dict[str, int] = {}
        anonymised: dict[str, int] = {}
        uploaded: set[str] = set()
        with self.transaction() as conn:
            self._customer(conn, customer_id)
            session_ids = [s[0] for s in self._sessions(conn, customer_id)]
            if self._uploads is not None:
                deleted["uploads"], uploaded = self._uploads.erase_rows(
                    conn, customer_id, session_ids
                )
            # the quality records keep their figures (the KPIs of past periods) without the words
            anonymised["quality_records"] = self._strip_transcripts(
                conn, contacts_table.c.id.in_(self._contact_ids(conn, customer_id, session_ids))
            )
            for name, table, column in (
                ("routing_reviews", reviews, reviews.c.session_id),
                ("handoffs", handoffs, handoffs.c.session_id),
                ("chats", conversations, conversations.c.id),
            ):
                deleted[name] = self._delete_in(conn, table, column, session_ids)
            call_ids = [
                r.id
                for r in conn.execute(
                    select(calls_table.c.id).where(calls_table.c.customer_id == customer_id)
                )
            ]
            self._delete_in(conn, call_segments, call_segments.c.call_id, call_ids)
            deleted["calls"] = self._delete_in(conn, calls_table, calls_table.c.id, call_ids)
            # outreach (车主秘书): reminders before the messages they point to
            for name, table in (
                ("reminders", outreach_reminders),
                ("reminder_messages", outreach_messages),
                ("reminder_opt_outs", outreach_opt_outs),
            ):
                deleted[name] = int(
                    conn.execute(delete(table).where(table.c.customer_id == customer_id)).rowcount
                )
            anonymised["customer"] = conn.execute(
                update(customers)
                .where(customers.c.id == customer_id)
                .values(name=ERASED_NAME, phone="", id_number="")
            ).rowcount
            plates = [
                r.plate
                for r in conn.execute(
                    select(vehicles.c.plate).where(vehicles.c.customer_id == customer_id)
                )
            ]
            anonymised["vehicles"] = 0
            for plate in plates:
                if plate.startswith(PSEUDONYM_PREFIX):
                    continue
                alias = _pseudonym(customer_id, plate)
                for table in (vehicles, policies, claims):
                    conn.execute(
                        update(table)
                        .where(table.c.customer_id == customer_id, table.c.plate == plate)
                        .values(plate=alias)
                    )
                anonymised["vehicles"] += 1
            anonymised["claims"] = conn.execute(
                update(claims)
                .where(claims.c.customer_id == customer_id, claims.c.description != ERASED)
                .values(description=ERASED)
            ).rowcount
            anonymised["contacts"] = conn.execute(
                update(interactions)
                .where(interactions.c.customer_id == customer_id, interactions.c.summary != ERASED)
                .values(summary=ERASED)
            ).rowcount
            anonymised.update(self._erase_self_service(conn, customer_id))
        if self._uploads is not None:  # committed: now the files no row references go
            self._uploads.remove_files(uploaded)
        counts = ", ".join(f"{k} {v}" for k, v in {**deleted, **anonymised}.items())
        self._audit.record(user.username, "privacy.erase", customer_id, counts)
        return ErasureReport(customer_id=customer_id, deleted=deleted, anonymised=anonymised)

    # ----- self-service claim records (customers/selfservice.py) ----------------------------

    def _self_service(self, conn: Connection, customer_id: str) -> dict[str, Any]:
        """The customer's self-service records as stored (the contact phone unmasked)."""
        return {
            name: self._rows(conn, table, table.c.customer_id, customer_id)
            for name, table in (
                ("claim_reports", selfservice_reports),
                ("appointments", selfservice_appointments),
                ("withdrawals", selfservice_withdrawals),
            )
        }

    @staticmethod
    def _erase_self_service(conn: Connection, customer_id: str) -> dict[str, int]:
        """The records stay (they are a claim's history) without the customer's words: places,
        accounts, notes and reasons replaced, the other party, location and phone removed."""
        reports, appointments, withdrawals = (
            selfservice_reports,
            selfservice_appointments,
            selfservice_withdrawals,
        )
        return {
            "self_service_reports": conn.execute(
                update(reports)
                .where(reports.c.customer_id == customer_id, reports.c.place != ERASED)
                .values(
                    place=ERASED,
                    what_happened=ERASED,
                    injury_note=ERASED,
                    other_party={},
                    latitude=None,
                    longitude=None,
                )
            ).rowcount,
            "self_service_appointments": conn.execute(
                update(appointments)
                .where(appointments.c.customer_id == customer_id, appointments.c.notes != ERASED)
                .values(notes=ERASED, contact_phone="")
            ).rowcount,
            "self_service_withdrawals": conn.execute(
                update(withdrawals)
                .where(withdrawals.c.customer_id == customer_id, withdrawals.c.reason != ERASED)
                .values(reason=ERASED, note=ERASED)
            ).rowcount,
        }

    # ----- retention ------------------------------------------------------------------------

    def purge(self, actor: str, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
        """Delete what is older than its retention period, per kind (idempotent, audited).

        Args:
            actor: who runs it (a scheduled job names itself).
            now: the time (tests pin it).
            dry_run: count only.
        """
        when = now or datetime.now(UTC)
        days = self.retention
        plan: list[tuple[str, Any, Any, int]] = [
            ("chat_routing_reviews", reviews, reviews.c.created_at, days.chat_days),
            ("chat_handoffs", handoffs, handoffs.c.created_at, days.chat_days),
            ("chat_conversations", conversations, conversations.c.updated_at, days.chat_days),
            ("call_summaries", interactions, interactions.c.at, days.call_days),
            # a call's transcript: its segments, then the ended call (a live one has no end)
            ("call_segments", call_segments, call_segments.c.received_at, days.call_days),
            ("call_transcripts", calls_table, calls_table.c.ended_at, days.call_days),
            ("login_attempts", login_attempts, login_attempts.c.at, days.security_days),
            ("identity_failures", identity_failures, identity_failures.c.at, days.security_days),
            ("rate_counters", rate_counters, rate_counters.c.window_start, days.security_days),
            ("audit_log", audit_table, audit_table.c.at, days.audit_days),
            # outreach (车主秘书): proactive messages are contact records, kept as long as calls;
            # a message's reminders share its time, so they go first, by the same cutoff
            ("reminders", outreach_reminders, outreach_reminders.c.created_at, days.call_days),
            (
                "reminder_messages",
                outreach_messages,
                outreach_messages.c.created_at,
                days.call_days,
            ),
        ]
        removed: dict[str, int] = {}
        uploaded: set[str] = set()
        with self.transaction() as conn:
            if self._uploads is not None:  # sent in a chat and never linked to a claim
                chat_cutoff = when - timedelta(days=days.chat_days)
                removed["chat_uploads"], uploaded = self._uploads.purge_rows(
                    conn, chat_cutoff, dry_run
                )
            # a quality record outlives its transcript: its figures stay, its words go
            old = contacts_table.c.ended_at < when - timedelta(days=days.call_days)
            removed["quality_transcripts"] = self._strip_transcripts(conn, old, dry_run)
            for name, table, column, keep_days in plan:
                cutoff = when - timedelta(days=keep_days)
                if dry_run:
                    removed[name] = len(conn.execute(select(column).where(column < cutoff)).all())
                else:
                    removed[name] = conn.execute(delete(table).where(column < cutoff)).rowcount
        if self._uploads is not None and not dry_run:
            self._uploads.remove_files(uploaded)
        if not dry_run:
            summary = ", ".join(f"{k} {v}" for k, v in removed.items())
            self._audit.record(actor, "privacy.purge", "retention", summary)
        return PurgeReport(removed=removed, dry_run=dry_run)

    # ----- helpers --------------------------------------------------------------------------

    @staticmethod
    def _contact_ids(conn: Connection, customer_id: str, session_ids: list[str]) -> list[str]:
        """The quality records of the customer: theirs by id, and their chats'."""
        return [
            r.id
            for r in conn.execute(
                select(contacts_table.c.id).where(
                    (contacts_table.c.customer_id == customer_id)
                    | contacts_table.c.id.in_(session_ids)
                )
            )
        ]

    @staticmethod
    def _strip_transcripts(conn: Connection, where: Any, dry_run: bool = False) -> int:
        """Remove the words from the matching quality records (their turns, the evidence's
        spans) and from the coaching cases sent from them; returns how many records had any."""
        stripped = 0
        for row in conn.execute(select(contacts_table.c.id, contacts_table.c.payload).where(where)):
            payload = dict(row.payload)
            qa = payload.get("qa") or {}
            spans = any(e.get("span") for i in qa.get("items", []) for e in i.get("evidence", []))
            if not payload.get("turns") and not spans:
                continue
            stripped += 1
            if dry_run:
                continue
            payload["turns"] = []
            for item in qa.get("items", []):
                for evidence in item.get("evidence", []):
                    evidence["span"] = ""
            conn.execute(
                update(contacts_table).where(contacts_table.c.id == row.id).values(payload=payload)
            )
            conn.execute(
                update(coaching_cases)
                .where(coaching_cases.c.contact_id == row.id)
                .values(text=ERASED, evidence=[])
            )
        return stripped

    @staticmethod
    def _calls(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
        """The customer's calls with their transcripts (stored redacted)."""
        found = []
        for call in conn.execute(
            select(calls_table).where(calls_table.c.customer_id == customer_id)
        ).all():
            said = conn.execute(
                select(call_segments.c.speaker, call_segments.c.text, call_segments.c.received_at)
                .where(call_segments.c.call_id == call.id)
                .order_by(call_segments.c.seq)
            ).all()
            found.append(
                {
                    "id": call.id,
                    "channel": call.channel,
                    "agent": call.agent,
                    "started_at": call.started_at.isoformat(),
                    "ended_at": call.ended_at.isoformat() if call.ended_at else None,
                    "transcript": [
                        {"speaker": s.speaker, "text": s.text, "at": s.received_at.isoformat()}
                        for s in said
                    ],
                }
            )
        return found

    def _customer(self, conn: Connection, customer_id: str) -> Any:
        row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
        if row is None:
            raise CustomerUnknownError(f"no customer {customer_id!r}: nothing exported or erased")
        return row

    @staticmethod
    def _rows(conn: Connection, table: Any, column: Any, value: str) -> list[dict[str, Any]]:
        return [_jsonable(r) for r in conn.execute(select(table).where(column == value))]

    @staticmethod
    def _in(
        conn: Connection, table: Any, column: Any, values: Iterable[str]
    ) -> list[dict[str, Any]]:
        wanted = list(values)
        if not wanted:
            return []
        return [_jsonable(r) for r in conn.execute(select(table).where(column.in_(wanted)))]

    @staticmethod
    def _delete_in(conn: Connection, table: Any, column: Any, values: list[str]) -> int:
        if not values:
            return 0
        return int(conn.execute(delete(table).where(column.in_(values))).rowcount)

    @staticmethod
    def _sessions(conn: Connection, customer_id: str) -> list[tuple[str, datetime, dict[str, Any]]]:
        """The chat conversations in which the customer was identified."""
        table = conversations
        found = []
        for row in conn.execute(select(table.c.id, table.c.created_at, table.c.payload)):
            if row.payload.get("customer_id") == customer_id:
                found.append((row.id, row.created_at, row.payload))
        return found
