"""Quality work for the people who run the centre: every finished contact recorded and scored,
the KPIs over any period, supervisors' reviews, agents' disputes and coaching for trainers.

A call is recorded when it ends (scored at once, from its stored live views), and recorded again
when its wrap-up is saved (the disposition, after-call work) or its survey comes in. A
self-service chat is recorded after each answer, so containment and the bot's figures are
current. The scorecard is data (``data/quality/scorecard.yaml``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime

from pydantic import BaseModel

from accounts.models import User
from accounts.permissions import Action, can, require
from audit.log import AuditLog
from calls.models import Call
from chatbot.models import Conversation
from conversation.models import Speaker
from core.errors import PolicyDeskError
from core.masking import redact
from quality.contacts import turns_from_call
from quality.kpis import KpiFilter, KpiReport, KpiValue
from quality.models import (
    ContactKind,
    ContactRecord,
    ContactTurn,
    Evidence,
    ItemScore,
    Outcome,
    QaResult,
    Survey,
)
from quality.scorecard import Scorecard, score_contact, weighted_score
from quality.store import (
    CoachingCase,
    ContactRow,
    ContactStore,
    Dispute,
    ItemAgreement,
    Review,
)

COMPLAINT = "已登记投诉"
ESCALATED = "已升级主管"
OPEN_DISPOSITIONS = frozenset({"需回访", ESCALATED})
"""Dispositions that leave the matter open: the contact did not resolve it."""
COACHING_KINDS = ("coaching", "utterance", "reply")
"""What a supervisor may send to the trainers: a coaching case, a caller's utterance to label
(emotion, routing) or an agent's reply to label (the guard)."""
MAX_NOTE_CHARS = 500


class Dashboard(BaseModel):
    """Everything one view of the KPI dashboard (服务看板) shows, read in one go."""

    view: KpiFilter
    report: KpiReport
    daily: list[tuple[date, dict[str, KpiValue]]]
    agents: list[tuple[str, dict[str, KpiValue]]]
    teams: list[tuple[str, dict[str, KpiValue]]]
    handoff_reasons: list[tuple[str, int]]


class QualityService:
    """Records and scores contacts; the KPIs; reviews, disputes and coaching.

    Args:
        store: the contacts store.
        scorecard: the scorecard in force.
        team_of: an agent's team ('' when none).
        audit: where reviews, disputes and coaching are recorded.
    """

    def __init__(
        self,
        store: ContactStore,
        scorecard: Scorecard,
        team_of: Callable[[str], str],
        audit: AuditLog,
    ) -> None:
        self._store = store
        self._card = scorecard
        self._team_of = team_of
        self._audit = audit

    def today(self) -> date:
        """Today in the centre's time zone (contacts count on the centre's days)."""
        return self._store.today()

    @property
    def scorecard(self) -> Scorecard:
        """The scorecard in force."""
        return self._card

    # ----- recording ------------------------------------------------------------------------

    def call_ended(self, call: Call, suggested: str, at: datetime | None = None) -> ContactRecord:
        """Record and score a call that just ended (the wrap-up is not saved yet).

        Args:
            call: the ended call, with its segments.
            suggested: the disposition the wrap-up draft proposed.
            at: when it ended (default: the call's ``ended_at``).
        """
        contact = self.contact_of_call(call, suggested, at)
        known = self._store.find(call.id)
        if known is not None:  # recorded before (a repeated end): keep what was added since
            contact = contact.model_copy(
                update={
                    "disposition": known.disposition,
                    "acw_s": known.acw_s,
                    "survey": known.survey,
                    "resolved": known.resolved,
                    "complaint": known.complaint or contact.complaint,
                    "escalated": known.escalated,
                }
            )
        return self._store.record(self._scored(contact))

    def contact_of_call(
        self, call: Call, suggested: str, at: datetime | None = None
    ) -> ContactRecord:
        """A call as a contact record, before scoring (pure apart from the agent's team)."""
        turns = turns_from_call(call)
        ended = at or call.ended_at or datetime.now(UTC)
        caller = [t for t in turns if t.speaker is Speaker.CUSTOMER]
        peak = max((t.intensity for t in caller if t.upset), default=0.0)
        upset = any(t.upset for t in caller)
        last = caller[-1] if caller else None
        matter = _matter(call)
        return ContactRecord(
            id=call.id,
            kind=ContactKind.AGENT,
            channel=call.channel.value,
            agent=call.agent,
            team=self._team_of(call.agent),
            customer_id=call.customer_id,
            matter=matter,
            started_at=call.started_at,
            ended_at=ended,
            handle_s=max(0.0, (ended - call.started_at).total_seconds()),
            upset=upset,
            peak_intensity=peak,
            end_intensity=last.intensity if last else 0.0,
            recovered=(last is not None and not last.upset) if upset else None,
            complaint=matter == "complaint",
            resolved=suggested not in OPEN_DISPOSITIONS,
            suggested_disposition=suggested,
            turns=turns,
        )

    def wrap_up_saved(self, call_id: str, disposition: str, at: datetime | None = None) -> None:
        """The agent saved the wrap-up: the disposition, after-call work, resolution (rescored).

        A call recorded before the quality tables existed (or never ended) is skipped.
        """
        contact = self._store.find(call_id)
        if contact is None:
            return
        updated = with_wrap_up(contact, disposition, at or datetime.now(UTC))
        self._store.record(self._scored(updated))

    def chat_answered(self, conversation: Conversation, handoff_reason: str = "") -> ContactRecord:
        """Record (again) a self-service conversation after an answer: the bot's contact.

        Args:
            conversation: the conversation as saved.
            handoff_reason: why the bot handed over, when this answer did (kept afterwards).
        """
        turns = [
            ContactTurn(speaker=t.speaker, text=redact(t.text), at=t.at) for t in conversation.turns
        ]
        upset_steps = [m for m in conversation.moods if m.upset]
        last = conversation.moods[-1] if conversation.moods else None
        started = conversation.created_at
        ended = max([started, *(t.at for t in conversation.turns if t.at is not None)])
        matter = next((i for i in conversation.intents if i not in ("other", "to_human")), "other")
        known = self._store.find(conversation.id)
        contact = ContactRecord(
            id=conversation.id,
            kind=ContactKind.BOT,
            channel=conversation.channel,
            customer_id=conversation.customer_id,
            matter=matter,
            started_at=started,
            ended_at=ended,
            handle_s=max(0.0, (ended - started).total_seconds()),
            upset=bool(upset_steps),
            peak_intensity=max((m.intensity for m in upset_steps), default=0.0),
            end_intensity=last.intensity if last else 0.0,
            recovered=(last is not None and not last.upset) if upset_steps else None,
            handoff=conversation.handoff_id is not None or bool(known and known.handoff),
            handoff_reason=handoff_reason or (known.handoff_reason if known else ""),
            complaint=matter == "complaint",
            resolved=conversation.handoff_id is None and not (known and known.handoff),
            turns=turns,
            survey=Survey(nps=conversation.nps, csat=conversation.csat),
        )
        return self._store.record(self._scored(contact))

    def record_survey(self, contact_id: str, survey: Survey) -> ContactRecord:
        """The post-contact survey: the chatbot's after a resolved chat, or recorded after a call.

        Raises:
            ContactNotFoundError: no finished contact with that id.
            PolicyDeskError: an empty survey.
        """
        if survey.nps is None and survey.csat is None:
            raise PolicyDeskError("a survey needs an NPS (0-10) or a CSAT (1-5) answer")
        contact = self._store.get(contact_id)
        merged = Survey(
            nps=survey.nps if survey.nps is not None else contact.survey.nps,
            csat=survey.csat if survey.csat is not None else contact.survey.csat,
        )
        return self._store.set_survey(contact_id, merged)

    def record(self, contact: ContactRecord) -> ContactRecord:
        """Record a contact built elsewhere (an import, the demo history, a test): scored on the
        scorecard in force unless it comes with its own scorecard."""
        return self._store.record(contact if contact.qa is not None else self._scored(contact))

    def _scored(self, contact: ContactRecord) -> ContactRecord:
        return contact.model_copy(
            update={"qa": score_contact(contact, self._card, datetime.now(UTC))}
        )

    # ----- reading ------------------------------------------------------------------------

    def contact(self, user: User, contact_id: str) -> ContactRecord:
        """One scored contact: a supervisor sees any, an agent their own.

        Raises:
            ContactNotFoundError: unknown id.
            PermissionDeniedError: another agent's contact, for an agent.
        """
        contact = self._store.get(contact_id)
        self._own_or_supervisor(user, contact)
        return contact

    def find(self, contact_id: str) -> ContactRecord | None:
        """A contact once recorded (None while it is live)."""
        return self._store.find(contact_id)

    def my_scorecards(self, user: User, view: KpiFilter, limit: int = 200) -> list[ContactRow]:
        """The agent's own scored contacts in the period, newest first."""
        require(user, Action.USE_CONSOLE)
        mine = KpiFilter(start=view.start, end=view.end, agent=user.username)
        return self._store.rows(mine.where(), limit=limit)

    # ----- KPIs -----------------------------------------------------------------------------

    def kpis(self, view: KpiFilter) -> KpiReport:
        """Every figure of the view, each with its definition and how many contacts it counts."""
        return self._report(view, self._store.figures(view))

    @staticmethod
    def _report(view: KpiFilter, metrics: dict[str, KpiValue]) -> KpiReport:
        return KpiReport(
            period={
                "from": view.start.isoformat(),
                "to": view.end.isoformat(),
                "team": view.team,
                "agent": view.agent,
            },
            metrics=metrics,
        )

    def dashboard(self, view: KpiFilter) -> Dashboard:
        """One dashboard view: the figures, their daily trend, the agents' and teams' league
        tables and the handoff reasons (the bot's contacts carry no agent or team)."""
        rows = self._store.rolled_up(view)  # one read; every part of the view adds it up
        return Dashboard(
            view=view,
            report=self._report(view, self._store.figures(view, rows)),
            daily=[(day, f) for day, f in self._store.series(view, "day", rows)],
            agents=[(a, f) for a, f in self._store.series(view, "agent", rows) if a],
            teams=[(t, f) for t, f in self._store.series(view, "team", rows) if t],
            handoff_reasons=self._store.handoff_reasons(view, rows),
        )

    def teams(self, view: KpiFilter) -> list[str]:
        """The teams with contacts in the view, sorted."""
        return self._store.names("team", view)

    def agents(self, view: KpiFilter) -> list[str]:
        """The agents with contacts in the view (the bot has none), sorted."""
        return self._store.names("agent", view)

    def drill(self, view: KpiFilter, metric: str, limit: int | None = 500) -> list[ContactRow]:
        """The contacts behind a figure, each marked whether it counts."""
        return self._store.drill(view, metric, limit)

    def export_csv(self, view: KpiFilter, metric: str) -> str:
        """The contacts behind a figure as CSV (UTF-8 with a BOM, for Excel)."""
        rows = self._store.drill(view, metric, limit=None)
        out = io.StringIO()
        out.write("\ufeff")
        fields = list(ContactRow.model_fields)
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.model_dump(mode="json"))
        return out.getvalue()

    def scored_contacts(
        self,
        view: KpiFilter,
        low: float | None = None,
        high: float | None = None,
        redlines_only: bool = False,
        limit: int = 200,
    ) -> list[ContactRow]:
        """The view's scored contacts, newest first, for the QA list: a score range (0-100,
        inclusive) and only those with red lines when asked.

        Raises:
            PolicyDeskError: a score outside 0-100, or a minimum above the maximum.
        """
        for bound in (low, high):
            if bound is not None and not 0 <= bound <= 100:
                raise PolicyDeskError(f"a score is between 0 and 100, not {bound}")
        if low is not None and high is not None and low > high:
            raise PolicyDeskError(f"the minimum score {low} is above the maximum {high}")
        return self._store.scored(view.where(), low, high, redlines_only, limit)

    def contacts(self, view: KpiFilter, limit: int = 200, offset: int = 0) -> list[ContactRow]:
        """The view's contacts, newest first."""
        return self._store.rows(view.where(), limit=limit, offset=offset)

    # ----- calibration, disputes, coaching ------------------------------------------------

    def review(
        self, user: User, contact_id: str, item: str, corrected: Outcome | str, note: str = ""
    ) -> ContactRecord:
        """A supervisor corrects (or confirms) one item; the contact's score follows, and the
        correction is kept for the agreement rate.

        Raises:
            PermissionDeniedError: not a supervisor.
            ContactNotFoundError: unknown contact.
            PolicyDeskError: an unknown item or outcome, a contact never scored, a long note.
        """
        require(user, Action.MONITOR_CALLS)
        contact = self._store.get(contact_id)
        outcome = _outcome(corrected)
        current = self._item(contact, item)
        self._store.add_review(
            contact_id, item, current.outcome, outcome, user.username, _note(note)
        )
        self._audit.record(
            user.username, "qa.review", contact_id, f"{item}: {current.outcome}→{outcome}"
        )
        if outcome is current.outcome:
            return contact
        return self._store.set_qa(contact_id, _corrected(contact, item, outcome, user.username))

    def reviews(self, contact_id: str | None = None) -> list[Review]:
        """Supervisors' reviews (of one contact)."""
        return self._store.reviews(contact_id)

    def agreement(self) -> list[ItemAgreement]:
        """Per item: how often supervisors kept the automated outcome (calibration)."""
        return self._store.agreement()

    def dispute(self, user: User, contact_id: str, item: str, note: str) -> Dispute:
        """An agent disputes one item of their own scorecard.

        Raises:
            PermissionDeniedError: not the agent's contact.
            PolicyDeskError: an unknown item, an empty note, an open dispute on it already.
        """
        require(user, Action.USE_CONSOLE)
        contact = self._store.get(contact_id)
        if contact.agent != user.username:
            raise PolicyDeskError(f"contact {contact_id} is not yours to dispute")
        self._item(contact, item)
        text = _note(note)
        if not text:
            raise PolicyDeskError("say why the score is wrong")
        if any(d.item == item for d in self._store.disputes("open", contact_id=contact_id)):
            raise PolicyDeskError(f"item {item} of {contact_id} is already disputed")
        found = self._store.add_dispute(contact_id, item, user.username, text)
        self._audit.record(user.username, "qa.dispute", contact_id, item)
        return found

    def disputes(self, user: User, state: str | None = "open") -> list[Dispute]:
        """Open disputes for a supervisor; an agent sees their own."""
        if can(user, Action.MONITOR_CALLS):
            return self._store.disputes(state)
        return self._store.disputes(state, agent=user.username)

    def my_disputes(self, user: User, state: str | None = None) -> list[Dispute]:
        """The disputes the user raised, newest first (a supervisor's own too)."""
        require(user, Action.USE_CONSOLE)
        return self._store.disputes(state, agent=user.username)

    def decide_dispute(self, user: User, dispute_id: int, uphold: bool, note: str = "") -> Dispute:
        """A supervisor decides a dispute; upheld, the item flips to the agent's side.

        Raises:
            PermissionDeniedError: not a supervisor.
            PolicyDeskError: unknown or decided dispute.
        """
        require(user, Action.MONITOR_CALLS)
        found = self._store.dispute(dispute_id)
        if uphold:
            contact = self._store.get(found.contact_id)
            current = self._item(contact, found.item)
            flipped = Outcome.PASS if current.outcome is Outcome.FAIL else current.outcome
            self.review(user, found.contact_id, found.item, flipped, f"申诉成立：{note}")
        decided = self._store.decide_dispute(
            dispute_id, "upheld" if uphold else "rejected", user.username, _note(note)
        )
        self._audit.record(user.username, "qa.dispute_decided", found.contact_id, decided.state)
        return decided

    def send_to_training(
        self, user: User, contact_id: str, kind: str, turn: int | None = None, note: str = ""
    ) -> CoachingCase:
        """Send a scored contact to the trainers: a coaching case (the failed items' evidence),
        or one turn to label (a caller utterance, an agent reply).

        Raises:
            PermissionDeniedError: not a supervisor.
            PolicyDeskError: an unknown kind, a missing or wrong turn.
        """
        require(user, Action.MONITOR_CALLS)
        if kind not in COACHING_KINDS:
            raise PolicyDeskError(f"unknown kind {kind!r}: {', '.join(COACHING_KINDS)}")
        contact = self._store.get(contact_id)
        evidence = [
            e
            for i in (contact.qa.items if contact.qa else [])
            if i.outcome is Outcome.FAIL
            for e in i.evidence
        ]
        if kind == "coaching":
            text = (
                "；".join(
                    f"{i.label}：{i.reason}"
                    for i in (contact.qa.items if contact.qa else [])
                    if i.outcome is Outcome.FAIL
                )
                or "（无不合格项）"
            )
        else:
            want = Speaker.CUSTOMER if kind == "utterance" else Speaker.AGENT
            if turn is None or not 0 <= turn < len(contact.turns):
                raise PolicyDeskError(f"choose a turn between 0 and {len(contact.turns) - 1}")
            chosen = contact.turns[turn]
            if chosen.speaker is not want:
                raise PolicyDeskError(
                    f"turn {turn} is the {chosen.speaker.value}'s; a {kind} is the {want.value}'s"
                )
            text = chosen.text
            evidence = [e for e in evidence if e.turn == turn] or [
                Evidence(
                    turn=turn, speaker=chosen.speaker, span=chosen.text[:80], source="supervisor"
                )
            ]
        case = self._store.add_coaching(
            contact_id, kind, text, _note(note), evidence, user.username
        )
        self._audit.record(user.username, "qa.to_training", contact_id, kind)
        return case

    def coaching(self, include_reviewed: bool = False) -> list[CoachingCase]:
        """The trainers' queue of cases sent by supervisors."""
        return self._store.coaching(include_reviewed)

    def coaching_done(self, user: User, case_id: int) -> None:
        """A trainer dealt with a case.

        Raises:
            PermissionDeniedError: not a trainer.
        """
        require(user, Action.MANAGE_UTTERANCES)
        self._store.mark_coaching_reviewed(case_id)
        self._audit.record(user.username, "qa.coaching_done", str(case_id), "")

    # ----- internals ----------------------------------------------------------------------

    def _own_or_supervisor(self, user: User, contact: ContactRecord) -> None:
        if can(user, Action.MONITOR_CALLS):
            return
        require(user, Action.USE_CONSOLE)
        if contact.agent != user.username:
            raise PolicyDeskError(f"contact {contact.id} belongs to another agent")

    def _item(self, contact: ContactRecord, item: str) -> ItemScore:
        if contact.qa is None:
            raise PolicyDeskError(f"contact {contact.id} has no scorecard yet")
        found = contact.qa.item(item)
        if found is None:
            known = ", ".join(i.item for i in contact.qa.items)
            raise PolicyDeskError(f"unknown scorecard item {item!r}; the items are {known}")
        return found


def with_wrap_up(contact: ContactRecord, disposition: str, saved: datetime) -> ContactRecord:
    """The contact once its wrap-up is saved at ``saved`` (pure): the disposition, after-call
    work, and whether it was a complaint, escalated or resolved (not rescored)."""
    return contact.model_copy(
        update={
            "disposition": disposition,
            "acw_s": max(0.0, (saved - contact.ended_at).total_seconds()),
            "complaint": contact.complaint or disposition == COMPLAINT,
            "escalated": disposition == ESCALATED,
            "resolved": disposition not in OPEN_DISPOSITIONS,
        }
    )


def _matter(call: Call) -> str:
    """What the call was about: the caller's first need the assist recognised."""
    for segment in call.finals():
        view = segment.assist
        if view is not None and view.speaker is Speaker.CUSTOMER:
            intent = view.intent.intent.value
            if intent not in ("other", "to_human"):
                return intent
    return "other"


def _outcome(value: Outcome | str) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        raise PolicyDeskError(f"unknown outcome {value!r}: pass, fail or na") from None


def _note(note: str) -> str:
    text = redact(" ".join(note.split()))
    if len(text) > MAX_NOTE_CHARS:
        raise PolicyDeskError(f"a note has at most {MAX_NOTE_CHARS} characters")
    return text


def _corrected(contact: ContactRecord, item: str, outcome: Outcome, by: str) -> QaResult:
    """The contact's scorecard with one item set by a person, the score recomputed."""
    assert contact.qa is not None
    items = [
        i.model_copy(
            update={
                "outcome": outcome,
                "evidence": [*i.evidence, Evidence(source=f"review:{by}")],
            }
        )
        if i.item == item
        else i
        for i in contact.qa.items
    ]
    return contact.qa.model_copy(update={"items": items, "score": weighted_score(items)})
