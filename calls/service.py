"""Live calls: the telephony side posts transcript segments, the assist pipeline answers.

Stateless between requests: a call's whole state is its stored segments (each final one with the
assist view it produced), so any worker can take the next segment. A final segment is answered
with the context of the final segments before it in ``seq`` order (out-of-order arrival is placed
by ``seq``); the same ``(call_id, seq)`` sent again returns the stored answer and adds nothing.
Text is stored redacted; the pipeline reads it raw first.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from accounts.authority import AuthorityLimits, Level, promise_findings
from accounts.models import User
from accounts.permissions import Action, can, require
from accounts.store import AccountStore, UserNotFoundError
from assist.models import AgentAssist
from assist.pipeline import AssistSession
from assist.wrapup import CallSummary, Disposition, WrapUpService
from audit.log import AuditLog
from calls.models import (
    Call,
    CallInfo,
    CallStarted,
    CallState,
    Channel,
    NewCall,
    NewSegment,
    Segment,
    SegmentResult,
    TopicFix,
    Whisper,
)
from calls.store import CallBusyError, CallEndedError, CallStore
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.masking import mask_phone, redact, redact_strings
from customers.privileges import PrivilegeBook, offer_findings
from customers.store import CustomerStore
from prompts.guard import ComplianceReport, Finding

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3
NO_CALLER_SUMMARY = "通话中客户没有发言。"
MAX_NOTE_CHARS = 300


class CallAgentError(PolicyDeskError):
    """The call names an agent PolicyDesk does not know (or one who may not take calls)."""


def _redacted(view: AgentAssist) -> AgentAssist:
    """The view as stored: every text in it (the caller's words in the emotion reading, the
    agent's in a compliance check) with ID, phone and card numbers masked."""
    return AgentAssist.model_validate(redact_strings(view.model_dump(mode="json")))


def risk(call: Call) -> tuple[int, float, int]:
    """How urgently a supervisor should look at a live call (higher first): an active alert or a
    take-over flag, then the caller's upset intensity, then compliance findings."""
    info = call.info
    alert = 1 if info.mood.alert is not None or info.flagged_by else 0
    upset = info.mood.intensity if info.mood.upset else 0.0
    return (alert, upset, info.findings)


class CallService:
    """Opens calls, answers their segments, ends them; the floor's notes and flags.

    Args:
        store: the call store.
        customers: for the screen pop and for linking a customer during the call.
        accounts: the agents a call may be routed to.
        sessions: a new assist session for a customer (or None: anonymous), on current content.
        wrap_up: the wrap-up service (for the draft at the end).
        audit: where the floor's actions are recorded.
        level_of: an agent's authority level by username (分层授权); with ``authority``, an
            agent's promise beyond their level is a finding on the call.
        authority: the current authority rules.
        on_ended: told of every call that ends, with the disposition its facts support
            (quality records and scores it); its failure is logged and does not undo the end.
        privileges: the current member privileges; with them, an agent's offer of a privilege
            the call's customer's tier does not include is a finding on the call.
    """

    def __init__(
        self,
        store: CallStore,
        customers: CustomerStore,
        accounts: AccountStore,
        sessions: Callable[[str | None], AssistSession],
        wrap_up: Callable[[], WrapUpService],
        audit: AuditLog,
        level_of: Callable[[str], Level] | None = None,
        authority: Callable[[], AuthorityLimits] | None = None,
        on_ended: Callable[[Call, Disposition], object] | None = None,
        privileges: Callable[[], PrivilegeBook] | None = None,
    ) -> None:
        self._privileges = privileges
        self._store = store
        self._customers = customers
        self._accounts = accounts
        self._sessions = sessions
        self._wrap_up = wrap_up
        self._audit = audit
        self._level_of = level_of
        self._authority = authority
        self._on_ended = on_ended

    # ----- the telephony side -------------------------------------------------------------

    def start(
        self,
        new: NewCall,
        now: datetime | None = None,
        channel: Channel = Channel.PHONE,
        handoff_id: str | None = None,
    ) -> CallStarted:
        """Open a call for an agent; the caller's number finds the customer (screen pop).

        Args:
            new: the call as the telephony side (or the console) reports it.
            now: the time (tests pin it).
            channel: phone (telephony), console (typed or replayed) or chat (a handoff).
            handoff_id: the chat handoff a chat contact comes from.

        Raises:
            CallAgentError: no active account of that name, or one that may not take calls.
            CustomerNotFoundError: a ``customer_id`` that does not exist (``customers.store``).
            CallExistsError: the telephony side's call id is taken.
        """
        agent = self._agent(new.agent)
        if new.customer_id is not None:
            self._customers.profile(new.customer_id)  # raises for an unknown id
            customer_id: str | None = new.customer_id
        elif channel is Channel.PHONE:
            customer_id = self._customers.by_phone(new.caller_number)
        else:
            customer_id = None
        tier = self._customers.profile(customer_id).tier.value if customer_id else ""
        call = Call(
            id=new.call_id or f"call-{secrets.token_hex(8)}",
            agent=agent.username,
            customer_id=customer_id,
            caller=mask_phone(new.caller_number) if channel is Channel.PHONE else "",
            channel=channel,
            handoff_id=handoff_id,
            state=CallState.LIVE,
            started_at=now or datetime.now(UTC),
            info=CallInfo(tier=tier),
        )
        self._store.create(call)
        return CallStarted(call_id=call.id, customer_id=customer_id)

    def add_segment(self, call_id: str, segment: NewSegment) -> SegmentResult:
        """Add a transcript segment; a final one runs the assist pipeline.

        Raises:
            CallNotFoundError: unknown call.
            CallEndedError: the call has ended.
            CallBusyError: the call kept changing under this segment (send it again).
        """
        for _ in range(SAVE_ATTEMPTS):
            call = self._live(call_id)
            known = next((s for s in call.segments if s.seq == segment.seq), None)
            if known is not None and known.final:  # the same segment again: the same answer
                return SegmentResult(call_id=call.id, seq=known.seq, assist=known.assist)
            try:
                return self._answer(call, segment)
            except CallBusyError:
                continue  # another segment of this call was saved first: read it and retry
        raise CallBusyError(
            f"call {call_id} is changing too fast; send segment {segment.seq} again"
        )

    def correct_topic(self, call_id: str, fix: TopicFix) -> Call:
        """Record the agent's correction of what the call is about; the cards of the last
        caller turn follow at once, and every later turn's searches follow it too.

        Raises:
            CallNotFoundError: unknown call.
            CallEndedError: the call has ended.
            PolicyDeskError: a value the topic lexicon does not know for that facet.
            CallBusyError: the call changed meanwhile (try again).
        """
        call = self._live(call_id)
        finals = call.finals()
        session = self._resumed(call, finals)
        try:
            view = session.correct_topic(fix.facet, fix.name)
        except ValueError as exc:
            raise PolicyDeskError(str(exc)) from exc
        info = call.info.model_copy(update={"topic_fixes": [*call.info.topic_fixes, fix]})
        if view is None:
            return self._store.update_info(call, info)
        segment = finals[view.turn]
        self._store.save_segment(call, segment.model_copy(update={"assist": _redacted(view)}), info)
        return self._store.get(call_id)

    def end(self, call_id: str) -> CallSummary:
        """End a live call and return the wrap-up draft (the telephony side's end).

        Raises:
            CallNotFoundError: unknown call.
            CallEndedError: already ended.
        """
        return self.draft(self.close(call_id))

    def close(self, call_id: str) -> Call:
        """End a live call (no draft: the console drafts when the agent asks) and tell quality,
        with the disposition the call's facts support.

        Raises:
            CallNotFoundError: unknown call.
            CallEndedError: already ended.
        """
        ended = self._store.end(self._live(call_id))
        if self._on_ended is not None:
            try:
                self._on_ended(ended, self._suggested(ended))
            except Exception:  # the call has ended whatever quality does; it is logged
                logger.exception("call %s ended but was not recorded for quality", call_id)
        return ended

    def draft(self, call: Call) -> CallSummary:
        """The wrap-up draft of a call (the agent edits and saves it from the console)."""
        finals = call.finals()
        if not any(s.speaker is Speaker.CUSTOMER for s in finals):
            return CallSummary(text=NO_CALLER_SUMMARY, disposition=Disposition.OTHER)
        views = [s.assist for s in finals if s.assist is not None]
        return self._wrap_up().draft(call.turns(), views)

    def _suggested(self, call: Call) -> Disposition:
        """The draft's disposition from the template alone (never the LLM: only the facts)."""
        finals = call.finals()
        if not any(s.speaker is Speaker.CUSTOMER for s in finals):
            return Disposition.OTHER
        views = [s.assist for s in finals if s.assist is not None]
        return self._wrap_up().suggested(call.turns(), views)

    def get(self, call_id: str) -> Call:
        """One call with its transcript.

        Raises:
            CallNotFoundError: unknown call.
        """
        return self._store.get(call_id)

    def calls(self, state: CallState | None = None) -> list[Call]:
        """Calls, newest first; live ones for the floor come sorted by ``risk``."""
        found = self._store.listing(state)
        if state is CallState.LIVE:
            found.sort(key=risk, reverse=True)
        return found

    def calls_of(self, agent: str) -> list[Call]:
        """An agent's live contacts, newest first (without their transcripts)."""
        return self._store.live_for(agent)

    # ----- the agent and the floor --------------------------------------------------------

    def link_customer(self, user: User, call_id: str, customer_id: str) -> Call:
        """Identify the caller of an anonymous (or misidentified) call: the agent found them by
        policy, plate or claim number.

        Raises:
            PermissionDeniedError: the user may not use the console.
            CustomerNotFoundError: unknown customer.
            CallNotFoundError: unknown call.
            CallAgentError: another agent's call (a supervisor may link any).
        """
        require(user, Action.USE_CONSOLE)
        call = self._store.get(call_id)
        if call.agent != user.username and not can(user, Action.MONITOR_CALLS):
            raise CallAgentError(f"call {call_id} belongs to {call.agent}")
        profile = self._customers.profile(customer_id)
        info = call.info.model_copy(update={"tier": profile.tier.value})
        linked = self._store.update_info(call, info, customer_id=customer_id)
        self._audit.record(user.username, "call.link_customer", call_id, customer_id)
        return linked

    def floor(self, user: User) -> list[Call]:
        """Every live contact, most at risk first, for a supervisor (without transcripts).

        Raises:
            PermissionDeniedError: not a supervisor.
        """
        require(user, Action.MONITOR_CALLS)
        return self.calls(CallState.LIVE)

    def watch(self, user: User, call_id: str) -> Call:
        """A supervisor opens a call to follow its transcript (audited once per opening).

        Raises:
            PermissionDeniedError: not a supervisor.
            CallNotFoundError: unknown call.
        """
        require(user, Action.MONITOR_CALLS)
        call = self._store.get(call_id)
        self._audit.record(user.username, "call.watch", call_id, call.agent)
        return call

    def whisper(self, user: User, call_id: str, text: str) -> Call:
        """A supervisor's note to the agent on a live call (audited).

        Raises:
            PermissionDeniedError: not a supervisor.
            PolicyDeskError: an empty or over-long note.
            CallNotFoundError: unknown call.
            CallEndedError: the call has ended.
        """
        require(user, Action.MONITOR_CALLS)
        note = " ".join(text.split())
        if not note or len(note) > MAX_NOTE_CHARS:
            raise PolicyDeskError(f"a note to the agent has 1 to {MAX_NOTE_CHARS} characters")
        call = self._live(call_id)
        whisper = Whisper(by=user.username, text=redact(note), at=datetime.now(UTC))
        info = call.info.model_copy(update={"whispers": [*call.info.whispers, whisper]})
        updated = self._store.update_info(call, info)
        self._audit.record(user.username, "call.whisper", call_id, whisper.text)
        return updated

    def flag(self, user: User, call_id: str) -> Call:
        """Flag a live call for a supervisor to take over (audited).

        Raises:
            PermissionDeniedError: not a supervisor.
            CallNotFoundError: unknown call.
            CallEndedError: the call has ended.
        """
        require(user, Action.MONITOR_CALLS)
        call = self._live(call_id)
        info = call.info.model_copy(update={"flagged_by": user.username})
        updated = self._store.update_info(call, info)
        self._audit.record(user.username, "call.flag_takeover", call_id, call.agent)
        return updated

    # ----- internals ----------------------------------------------------------------------

    def _agent(self, username: str) -> User:
        try:
            user = self._accounts.get(username)
        except UserNotFoundError:
            raise CallAgentError(f"no agent account {username!r}") from None
        if not can(user, Action.USE_CONSOLE):
            raise CallAgentError(f"account {username!r} may not take calls")
        return user

    def _live(self, call_id: str) -> Call:
        call = self._store.get(call_id)
        if call.state is CallState.ENDED:
            raise CallEndedError(f"call {call_id} has ended: it takes no more segments")
        return call

    def _resumed(self, call: Call, finals: list[Segment]) -> AssistSession:
        """An assist session carried on from the call's final segments (any worker may take the
        next one), with the agent's topic corrections, which hold for every turn after."""
        session = self._sessions(call.customer_id)
        session.resume(
            [Turn(speaker=s.speaker, text=s.text, at=s.received_at) for s in finals],
            [s.assist for s in finals if s.assist is not None],
        )
        for fix in call.info.topic_fixes:
            session.correct_topic(fix.facet, fix.name, refresh=False)
        return session

    def _answer(self, call: Call, new: NewSegment) -> SegmentResult:
        received = datetime.now(UTC)
        if not new.final:  # only the live transcript changes
            interim = Segment(
                seq=new.seq,
                speaker=new.speaker,
                text=redact(new.text),
                final=False,
                received_at=received,
            )
            self._store.save_segment(call, interim, call.info)
            return SegmentResult(call_id=call.id, seq=new.seq, assist=None)
        session = self._resumed(call, call.finals(before=new.seq))
        view = session.add(Turn(speaker=new.speaker, text=new.text, at=received))
        if new.speaker is Speaker.AGENT:
            view = self._with_promises(view, call.agent, new.text, call.customer_id)
        stored = _redacted(view)
        info = self._info_after(call.info, stored)
        segment = Segment(
            seq=new.seq,
            speaker=new.speaker,
            text=redact(new.text),
            final=True,
            received_at=received,
            assist=stored,
        )
        self._store.save_segment(call, segment, info)
        return SegmentResult(call_id=call.id, seq=new.seq, assist=stored)

    def _with_promises(
        self, view: AgentAssist, agent: str, text: str, customer_id: str | None = None
    ) -> AgentAssist:
        """The view with the agent's promises beyond their level, and offers of privileges the
        customer's tier does not include, added to its compliance report (they count as
        findings on the call like any red line)."""
        extra: list[Finding] = []
        if self._level_of is not None and self._authority is not None:
            extra += promise_findings(text, self._level_of(agent), self._authority())
        if self._privileges is not None and customer_id is not None:
            tier = self._customers.tier(customer_id)
            extra += offer_findings(text, tier, self._privileges())
        if not extra:
            return view
        report = view.compliance or ComplianceReport(text=text)
        findings = sorted([*report.findings, *extra], key=lambda f: (f.start, f.rule))
        return view.model_copy(
            update={"compliance": report.model_copy(update={"findings": findings})}
        )

    @staticmethod
    def _info_after(info: CallInfo, view: AgentAssist) -> CallInfo:
        if view.speaker is Speaker.CUSTOMER:
            return info.model_copy(update={"mood": view.mood})
        report = view.compliance
        if report is None or report.compliant:
            return info
        reasons = [f.reason for f in report.findings]
        return info.model_copy(
            update={
                "findings": info.findings + len(report.findings),
                "findings_text": [*info.findings_text, *reasons][-10:],
            }
        )
