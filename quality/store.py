"""Finished contacts and the quality work on them, in SQL.

One row per contact carries what the KPIs count (``quality.kpis``) next to the whole record
(turns, scorecard, survey) as JSON. Each write also recounts the contact's day and agent in a
roll-up (each KPI's base count and summed amount per day, agent, team and kind), which is what
the dashboard reads; a drill-down lists the contacts themselves.
Reviews, disputes and coaching cases refer to a contact by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, and_, case, delete, func, insert, select, update

from core.errors import PolicyDeskError
from db.changes import ChangeWatcher
from db.schema import (
    coaching_cases,
    contact_rollup,
    contacts_table,
    feedback,
    qa_disputes,
    qa_reviews,
)
from db.store import SqlStore
from quality.kpis import KpiFilter, KpiValue, columns, figures, metric, sums
from quality.models import ContactRecord, Evidence, Outcome, QaResult, Survey

Group = tuple[date, str, str, str]
"""A roll-up group: day, agent, team, kind."""
REASON = "reason:"
"""The roll-up's handoff-reason rows: this prefix and the reason."""
REPEAT_WINDOW = timedelta(days=7)
"""A contact is *repeated* when the same customer comes back on the same matter within this."""


class ContactNotFoundError(PolicyDeskError):
    """No finished contact with that id."""


class ContactRow(BaseModel):
    """A contact in a list (without its turns): what a drill-down or an export shows."""

    id: str
    kind: str
    channel: str
    agent: str
    team: str
    customer_id: str | None
    matter: str
    started_at: datetime
    handle_s: float
    upset: bool
    handoff: bool
    handoff_reason: str
    complaint: bool
    disposition: str
    resolved: bool
    repeated: bool
    qa_score: float | None
    redlines: int
    nps: int | None
    csat: int | None
    counted: bool | None = Field(
        default=None, description="in a drill-down: whether it is in the metric's numerator"
    )
    amount: float | None = Field(default=None, description="in a drill-down: what it adds")


class Review(BaseModel):
    """A supervisor's check of one item of a contact's automated scorecard."""

    id: int
    contact_id: str
    item: str
    auto: Outcome
    corrected: Outcome
    by: str
    at: datetime
    note: str


class Dispute(BaseModel):
    """An agent's objection to one item of their scorecard, and its decision."""

    id: int
    contact_id: str
    item: str
    agent: str
    note: str
    at: datetime
    state: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


class CoachingCase(BaseModel):
    """A contact sent to the trainers: a coaching case, or an utterance or reply to label."""

    id: int
    contact_id: str
    kind: str
    text: str
    note: str
    evidence: list[Evidence]
    by: str
    at: datetime
    reviewed: bool


class ItemAgreement(BaseModel):
    """How often supervisors kept one item's automated score (calibration)."""

    item: str
    reviewed: int
    agreed: int

    @property
    def rate(self) -> float | None:
        """The share of reviews that kept the automated outcome."""
        return self.agreed / self.reviewed if self.reviewed else None


def mark_repeats(contacts: Sequence[ContactRecord]) -> list[ContactRecord]:
    """The contacts with ``repeated`` set where the same customer came back on the same matter
    within ``REPEAT_WINDOW`` (pure; for contacts recorded together, e.g. the demo history)."""
    order = sorted(range(len(contacts)), key=lambda i: contacts[i].started_at)
    last: dict[tuple[str, str], int] = {}
    repeated = [c.repeated for c in contacts]
    for i in order:
        contact = contacts[i]
        if contact.customer_id is None:
            continue
        key = (contact.customer_id, contact.matter)
        before = last.get(key)
        if before is not None and contact.started_at - contacts[before].started_at <= REPEAT_WINDOW:
            repeated[before] = True
        last[key] = i
    return [c.model_copy(update={"repeated": r}) for c, r in zip(contacts, repeated, strict=True)]


def _values(contact: ContactRecord, zone: tzinfo) -> dict[str, Any]:
    qa = contact.qa
    return {
        "kind": contact.kind.value,
        "channel": contact.channel,
        "agent": contact.agent,
        "team": contact.team,
        "customer_id": contact.customer_id,
        "matter": contact.matter,
        "day": contact.local_day(zone),
        "started_at": contact.started_at,
        "ended_at": contact.ended_at,
        "handle_s": contact.handle_s,
        "acw_s": contact.acw_s,
        "upset": contact.upset,
        "recovered": contact.recovered,
        "handoff": contact.handoff,
        "handoff_reason": contact.handoff_reason[:64],
        "escalated": contact.escalated,
        "complaint": contact.complaint,
        "disposition": contact.disposition,
        "resolved": contact.resolved,
        "repeated": contact.repeated,
        "qa_score": qa.score if qa is not None else None,
        "redlines": qa.redlines if qa is not None else 0,
        "nps": contact.survey.nps,
        "csat": contact.survey.csat,
        "payload": contact.model_dump(mode="json"),
    }


class RollupRow(NamedTuple):
    """One roll-up row: a day's contacts of one agent (and team) and kind, summed per KPI as
    ``name -> [base count, summed amount]`` (a plain tuple: a view reads thousands)."""

    day: date
    agent: str
    team: str
    kind: str
    sums: dict[str, list[float]]


def _added(rows: Iterable[RollupRow]) -> dict[str, tuple[int, float]]:
    """The roll-up rows' sums added up, per name."""
    out: dict[str, list[float]] = {}
    for row in rows:
        for name, (n, total) in row.sums.items():
            current = out.setdefault(name, [0, 0.0])
            current[0] += n
            current[1] += total
    return {name: (int(n), float(total)) for name, (n, total) in out.items()}


def _groups(conn: Connection, where: Any) -> set[Group]:
    """The roll-up groups of the contacts matching a condition."""
    query = select(
        contacts_table.c.day, contacts_table.c.agent, contacts_table.c.team, contacts_table.c.kind
    ).where(where)
    return {(r.day, r.agent, r.team, r.kind) for r in conn.execute(query)}


def _row(row: Any, **extra: Any) -> ContactRow:
    data = {k: getattr(row, k) for k in ContactRow.model_fields if k not in ("counted", "amount")}
    return ContactRow(**data, **extra)


class ContactStore(SqlStore):
    """Records finished contacts; the KPI sums, drill-downs, reviews, disputes and coaching.

    Args:
        engine: the database.
        watcher: change notices (unused: the dashboard reads every time).
        zone: the centre's time zone, which decides a contact's day.
    """

    def __init__(
        self, engine: Engine, watcher: ChangeWatcher | None = None, zone: tzinfo = UTC
    ) -> None:
        super().__init__(engine, watcher)
        self._zone = zone

    def today(self) -> date:
        """Today in the centre's time zone: the last day of a default view."""
        return datetime.now(self._zone).date()

    # ----- contacts -----------------------------------------------------------------------

    def record(self, contact: ContactRecord) -> ContactRecord:
        """Store a finished contact, or replace it (a contact is recorded again when its
        wrap-up, survey or score changes), and keep ``repeated`` right on both sides: an earlier
        contact of the customer on the same matter within the window is now repeated, and this
        one is when a later one exists. The roll-up of every day and agent touched follows in
        the same transaction.
        """
        groups: set[Group] = set()
        with self.transaction() as conn:
            if contact.customer_id is not None:
                same = and_(
                    contacts_table.c.customer_id == contact.customer_id,
                    contacts_table.c.matter == contact.matter,
                    contacts_table.c.id != contact.id,
                )
                later = conn.execute(
                    select(func.count())
                    .select_from(contacts_table)
                    .where(
                        same,
                        contacts_table.c.started_at > contact.started_at,
                        contacts_table.c.started_at <= contact.started_at + REPEAT_WINDOW,
                    )
                ).scalar_one()
                contact = contact.model_copy(update={"repeated": bool(later)})
                earlier = and_(
                    same,
                    contacts_table.c.started_at < contact.started_at,
                    contacts_table.c.started_at >= contact.started_at - REPEAT_WINDOW,
                    contacts_table.c.repeated.is_(False),
                )
                groups |= _groups(conn, earlier)
                conn.execute(update(contacts_table).where(earlier).values(repeated=True))
            groups |= _groups(conn, contacts_table.c.id == contact.id)  # as it was
            values = _values(contact, self._zone)
            changed = conn.execute(
                update(contacts_table).where(contacts_table.c.id == contact.id).values(**values)
            ).rowcount
            if not changed:
                conn.execute(insert(contacts_table).values(id=contact.id, **values))
            groups.add((values["day"], contact.agent, contact.team, contact.kind.value))
            self._roll_up(conn, groups)
        return contact

    def record_many(self, contacts: Iterable[ContactRecord], batch: int = 2000) -> int:
        """Store new contacts in bulk, ``repeated`` already set (``mark_repeats``): the demo
        history and the benchmark. Returns how many were stored."""
        rows = [{"id": c.id, **_values(c, self._zone)} for c in contacts]
        for at in range(0, len(rows), batch):
            with self.transaction() as conn:
                conn.execute(insert(contacts_table), rows[at : at + batch])
        groups = {(r["day"], r["agent"], r["team"], r["kind"]) for r in rows}
        days = sorted({g[0] for g in groups})
        for at in range(0, len(days), 7):  # a week of days per transaction
            week = set(days[at : at + 7])
            with self.transaction() as conn:
                self._roll_up(conn, {g for g in groups if g[0] in week})
        return len(rows)

    def _roll_up(self, conn: Connection, groups: set[Group]) -> None:
        """Recount the roll-up of these groups from their contacts (in the caller's
        transaction; serialised per day, so parallel workers cannot lose each other's rows)."""
        for day in sorted({g[0] for g in groups}):
            self.serialise(conn, f"contact_rollup:{day.isoformat()}")
        for day, agent, team, kind in groups:
            conn.execute(
                delete(contact_rollup).where(
                    contact_rollup.c.day == day,
                    contact_rollup.c.agent == agent,
                    contact_rollup.c.team == team,
                    contact_rollup.c.kind == kind,
                )
            )
        by_group = (
            contacts_table.c.day,
            contacts_table.c.agent,
            contacts_table.c.team,
            contacts_table.c.kind,
        )
        totals: dict[Group, dict[str, list[float]]] = {}
        for day in sorted({g[0] for g in groups}):
            wanted = {g for g in groups if g[0] == day}
            # only the agents recounted (the bot's contacts have agent ''), not the whole day
            of_day = and_(
                contacts_table.c.day == day, contacts_table.c.agent.in_({g[1] for g in wanted})
            )
            found = conn.execute(
                select(*by_group, *columns()).where(of_day).group_by(*by_group)
            ).mappings()
            for row in found:
                group = (row["day"], row["agent"], row["team"], row["kind"])
                if group in wanted:
                    totals[group] = {
                        name: [n, total] for name, (n, total) in sums(row).items() if n
                    }
            reasons = conn.execute(
                select(*by_group, contacts_table.c.handoff_reason, func.count().label("n"))
                .where(of_day, contacts_table.c.handoff)
                .group_by(*by_group, contacts_table.c.handoff_reason)
            )
            for r in reasons:
                group = (r.day, r.agent, r.team, r.kind)
                if group in totals:
                    totals[group][f"{REASON}{r.handoff_reason}"] = [r.n, 0.0]
        if totals:
            conn.execute(
                insert(contact_rollup),
                [
                    {"day": g[0], "agent": g[1], "team": g[2], "kind": g[3], "sums": t}
                    for g, t in totals.items()
                ],
            )

    def remove_prefixed(self, prefix: str) -> int:
        """Delete the contacts whose id starts with ``prefix`` (generated data such as the demo
        history being replaced, with their reviews, disputes and coaching cases); returns how
        many contacts."""
        like = contacts_table.c.id.startswith(prefix, autoescape=True)
        ids = select(contacts_table.c.id).where(like)
        with self.transaction() as conn:
            groups = _groups(conn, like)
            for table in (qa_reviews, qa_disputes, coaching_cases):
                conn.execute(delete(table).where(table.c.contact_id.in_(ids)))
            removed = int(conn.execute(delete(contacts_table).where(like)).rowcount)
            self._roll_up(conn, groups)
            return removed

    def get(self, contact_id: str, connection: Connection | None = None) -> ContactRecord:
        """One contact, whole.

        Raises:
            ContactNotFoundError: unknown id.
        """
        with self.reading(connection) as conn:
            row = conn.execute(
                select(contacts_table.c.payload, contacts_table.c.repeated).where(
                    contacts_table.c.id == contact_id
                )
            ).first()
        if row is None:
            raise ContactNotFoundError(f"no finished contact {contact_id!r}")
        return ContactRecord.model_validate({**row.payload, "repeated": row.repeated})

    def find(self, contact_id: str) -> ContactRecord | None:
        """One contact, or None while it is not recorded (still live)."""
        try:
            return self.get(contact_id)
        except ContactNotFoundError:
            return None

    def rows(self, where: Any, limit: int = 200, offset: int = 0) -> list[ContactRow]:
        """Contacts matching a condition, newest first (no turns)."""
        query = (
            select(contacts_table)
            .where(where)
            .order_by(contacts_table.c.started_at.desc(), contacts_table.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.reading() as conn:
            return [_row(r) for r in conn.execute(query)]

    def scored(
        self,
        where: Any,
        low: float | None = None,
        high: float | None = None,
        redlines_only: bool = False,
        limit: int = 200,
    ) -> list[ContactRow]:
        """Scored contacts matching a condition, newest first: a score between ``low`` and
        ``high`` (inclusive, when given), only those with red-line findings when asked."""
        conditions = [where, contacts_table.c.qa_score.is_not(None)]
        if low is not None:
            conditions.append(contacts_table.c.qa_score >= low)
        if high is not None:
            conditions.append(contacts_table.c.qa_score <= high)
        if redlines_only:
            conditions.append(contacts_table.c.redlines > 0)
        return self.rows(and_(*conditions), limit=limit)

    def names(self, column: str, view: KpiFilter) -> list[str]:
        """The distinct non-empty teams or agents with contacts in the view, sorted (from the
        roll-up: a few rows per day, however many contacts).

        Raises:
            PolicyDeskError: a column other than ``team`` or ``agent``.
        """
        if column not in ("team", "agent"):
            raise PolicyDeskError(f"cannot list {column!r}: team or agent")
        col = contact_rollup.c[column]
        query = select(col).where(view.where(contact_rollup), col != "").distinct().order_by(col)
        with self.reading() as conn:
            return [str(r[0]) for r in conn.execute(query)]

    def count(self, where: Any = None) -> int:
        """How many contacts (matching the condition)."""
        query = select(func.count()).select_from(contacts_table)
        if where is not None:
            query = query.where(where)
        with self.reading() as conn:
            return int(conn.execute(query).scalar_one())

    def set_qa(self, contact_id: str, qa: QaResult) -> ContactRecord:
        """Replace a contact's scorecard (a rescore).

        Raises:
            ContactNotFoundError: unknown id.
        """
        return self.record(self.get(contact_id).model_copy(update={"qa": qa}))

    def set_survey(self, contact_id: str, survey: Survey) -> ContactRecord:
        """Record the post-contact survey.

        Raises:
            ContactNotFoundError: unknown id.
        """
        return self.record(self.get(contact_id).model_copy(update={"survey": survey}))

    # ----- KPIs ---------------------------------------------------------------------------

    def rolled_up(self, view: KpiFilter) -> list[RollupRow]:
        """The roll-up rows of the view: one per day, agent, team and kind (one query)."""
        query = select(contact_rollup).where(view.where(contact_rollup))
        with self.reading() as conn:
            return [
                RollupRow(day=r.day, agent=r.agent, team=r.team, kind=r.kind, sums=r.sums)
                for r in conn.execute(query)
            ]

    def figures(
        self, view: KpiFilter, rows: Sequence[RollupRow] | None = None
    ) -> dict[str, KpiValue]:
        """Every metric over the view's contacts, plus card helpfulness from agents' votes.

        Args:
            view: the period and scope.
            rows: the view's roll-up when already read (``rolled_up``).
        """
        out = figures(_added(rows if rows is not None else self.rolled_up(view)))
        with self.reading() as conn:
            out["card_helpfulness"] = self._helpfulness(conn, view)
        return out

    def series(
        self, view: KpiFilter, by: str = "day", rows: Sequence[RollupRow] | None = None
    ) -> list[tuple[Any, dict[str, KpiValue]]]:
        """Every metric per day, agent or team, in the view (for charts and league tables)."""
        if by not in ("day", "agent", "team"):
            raise PolicyDeskError(f"cannot group by {by!r}: day, agent or team")
        grouped: dict[Any, list[RollupRow]] = {}
        for row in rows if rows is not None else self.rolled_up(view):
            grouped.setdefault(getattr(row, by), []).append(row)
        return [(k, figures(_added(grouped[k]))) for k in sorted(grouped)]

    def handoff_reasons(
        self, view: KpiFilter, rows: Sequence[RollupRow] | None = None
    ) -> list[tuple[str, int]]:
        """Why the bot handed over, most frequent first."""
        added = _added(rows if rows is not None else self.rolled_up(view))
        reasons = [
            (k.removeprefix(REASON) or "—", int(n))
            for k, (n, _) in added.items()
            if k.startswith(REASON)
        ]
        return sorted(reasons, key=lambda r: (-r[1], r[0]))

    def drill(self, view: KpiFilter, name: str, limit: int | None = 500) -> list[ContactRow]:
        """The contacts behind one figure: its base, each marked whether (and how much) it
        counts. With ``limit=None``, all of them (the tie-out and the CSV export).

        Raises:
            PolicyDeskError: an unknown metric.
        """
        m = metric(name)
        query = (
            select(
                contacts_table,
                case((m.amount.is_(None), 0), else_=m.amount).label("amount_"),
            )
            .where(view.where(), m.base)
            .order_by(contacts_table.c.day.desc(), contacts_table.c.started_at.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self.reading() as conn:
            return [
                _row(r, counted=bool(r.amount_), amount=float(r.amount_))
                for r in conn.execute(query)
            ]

    @staticmethod
    def _helpfulness(conn: Connection, view: KpiFilter) -> KpiValue:
        start = datetime.combine(view.start, datetime.min.time(), UTC)
        end = datetime.combine(view.end + timedelta(days=1), datetime.min.time(), UTC)
        query = select(func.count(), func.sum(case((feedback.c.helpful, 1), else_=0))).where(
            feedback.c.at >= start, feedback.c.at < end
        )
        if view.agent:
            query = query.where(feedback.c.agent == view.agent)
        n, helpful = conn.execute(query).one()
        return KpiValue(
            value=round(int(helpful or 0) / n, 4) if n else None,
            definition="坐席对知识卡片点“有用”的次数 ÷ 全部评价次数（按评价日期）",
            n=int(n),
            label="卡片有用率",
        )

    # ----- reviews (calibration) ----------------------------------------------------------

    def add_review(
        self, contact_id: str, item: str, auto: Outcome, corrected: Outcome, by: str, note: str
    ) -> Review:
        """Keep a supervisor's check of one item (the contact's score is changed by the caller)."""
        at = datetime.now(UTC)
        with self.transaction() as conn:
            new_id = conn.execute(
                insert(qa_reviews).values(
                    contact_id=contact_id,
                    item=item,
                    auto=auto.value,
                    corrected=corrected.value,
                    by=by,
                    at=at,
                    note=note,
                )
            ).inserted_primary_key
        assert new_id is not None
        return Review(
            id=int(new_id[0]),
            contact_id=contact_id,
            item=item,
            auto=auto,
            corrected=corrected,
            by=by,
            at=at,
            note=note,
        )

    def reviews(self, contact_id: str | None = None, limit: int = 500) -> list[Review]:
        """Reviews, newest first (of one contact, when given)."""
        query = select(qa_reviews).order_by(qa_reviews.c.at.desc()).limit(limit)
        if contact_id is not None:
            query = query.where(qa_reviews.c.contact_id == contact_id)
        with self.reading() as conn:
            return [Review.model_validate(r._mapping) for r in conn.execute(query)]

    def agreement(self) -> list[ItemAgreement]:
        """Per item: how many reviews, and how many kept the automated outcome (the first
        review of each contact and item: later ones re-correct a correction)."""
        first = (
            select(func.min(qa_reviews.c.id))
            .group_by(qa_reviews.c.contact_id, qa_reviews.c.item)
            .scalar_subquery()
        )
        query = (
            select(
                qa_reviews.c.item,
                func.count().label("n"),
                func.sum(case((qa_reviews.c.auto == qa_reviews.c.corrected, 1), else_=0)).label(
                    "agreed"
                ),
            )
            .where(qa_reviews.c.id.in_(first))
            .group_by(qa_reviews.c.item)
            .order_by(qa_reviews.c.item)
        )
        with self.reading() as conn:
            return [
                ItemAgreement(item=r.item, reviewed=int(r.n), agreed=int(r.agreed or 0))
                for r in conn.execute(query)
            ]

    # ----- disputes -----------------------------------------------------------------------

    def add_dispute(self, contact_id: str, item: str, agent: str, note: str) -> Dispute:
        """An agent's objection to one item, open until a supervisor decides."""
        at = datetime.now(UTC)
        with self.transaction() as conn:
            key = conn.execute(
                insert(qa_disputes).values(
                    contact_id=contact_id, item=item, agent=agent, note=note, at=at, state="open"
                )
            ).inserted_primary_key
        assert key is not None
        return self.dispute(int(key[0]))

    def dispute(self, dispute_id: int) -> Dispute:
        """One dispute.

        Raises:
            PolicyDeskError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(qa_disputes).where(qa_disputes.c.id == dispute_id)).first()
        if row is None:
            raise PolicyDeskError(f"no dispute {dispute_id}")
        return Dispute.model_validate(row._mapping)

    def disputes(
        self, state: str | None = None, agent: str | None = None, contact_id: str | None = None
    ) -> list[Dispute]:
        """Disputes, newest first, filtered by state, agent or contact."""
        query = select(qa_disputes).order_by(qa_disputes.c.at.desc())
        if state is not None:
            query = query.where(qa_disputes.c.state == state)
        if agent is not None:
            query = query.where(qa_disputes.c.agent == agent)
        if contact_id is not None:
            query = query.where(qa_disputes.c.contact_id == contact_id)
        with self.reading() as conn:
            return [Dispute.model_validate(r._mapping) for r in conn.execute(query)]

    def decide_dispute(self, dispute_id: int, state: str, by: str, note: str) -> Dispute:
        """Close an open dispute (upheld or rejected).

        Raises:
            PolicyDeskError: unknown id, or already decided.
        """
        with self.transaction() as conn:
            changed = conn.execute(
                update(qa_disputes)
                .where(qa_disputes.c.id == dispute_id, qa_disputes.c.state == "open")
                .values(
                    state=state, decided_by=by, decided_at=datetime.now(UTC), decision_note=note
                )
            ).rowcount
        if not changed:
            found = self.dispute(dispute_id)  # raises for an unknown id
            raise PolicyDeskError(f"dispute {dispute_id} was already {found.state}")
        return self.dispute(dispute_id)

    # ----- coaching -----------------------------------------------------------------------

    def add_coaching(
        self,
        contact_id: str,
        kind: str,
        text: str,
        note: str,
        evidence: Sequence[Evidence],
        by: str,
    ) -> CoachingCase:
        """Send a contact (or one of its turns) to the trainers' feedback queue."""
        at = datetime.now(UTC)
        with self.transaction() as conn:
            key = conn.execute(
                insert(coaching_cases).values(
                    contact_id=contact_id,
                    kind=kind,
                    text=text,
                    note=note,
                    evidence=[e.model_dump(mode="json") for e in evidence],
                    by=by,
                    at=at,
                    reviewed=False,
                )
            ).inserted_primary_key
        assert key is not None
        return self.coaching(include_reviewed=True, case_id=int(key[0]))[0]

    def coaching(
        self, include_reviewed: bool = False, case_id: int | None = None, limit: int = 200
    ) -> list[CoachingCase]:
        """Coaching cases, newest first (open ones only, unless asked)."""
        query = select(coaching_cases).order_by(coaching_cases.c.at.desc()).limit(limit)
        if not include_reviewed:
            query = query.where(coaching_cases.c.reviewed.is_(False))
        if case_id is not None:
            query = query.where(coaching_cases.c.id == case_id)
        with self.reading() as conn:
            return [CoachingCase.model_validate(r._mapping) for r in conn.execute(query)]

    def mark_coaching_reviewed(self, case_id: int) -> None:
        """A trainer has dealt with the case.

        Raises:
            PolicyDeskError: unknown id.
        """
        with self.transaction() as conn:
            changed = conn.execute(
                update(coaching_cases).where(coaching_cases.c.id == case_id).values(reviewed=True)
            ).rowcount
        if not changed:
            raise PolicyDeskError(f"no coaching case {case_id}")
