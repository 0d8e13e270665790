"""What the agent does from the console, on any contact: a live phone call, a call typed or
replayed at the console, or a chat taken over from the bot. The console only renders; every
change goes through here and lands in the call store, so a reload, a second tab or the supervisor
floor see the same contact.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.authority import AuthorityLimits, Level, promise_findings
from accounts.models import User
from accounts.permissions import Action, require
from assist.wrapup import Disposition, WrapUpService
from audit.log import AuditLog
from calls.models import Call, CallState, Channel, NewCall, NewSegment, TopicFix
from calls.service import CallService
from calls.store import CallStore
from chatbot.handoff import HandoffState
from chatbot.queue import HandoffQueue, HandoffStateError
from chatbot.replies import AgentReplies, ReplyNotCompliantError
from chatbot.sessions import ConversationNotFoundError
from conversation.models import Speaker
from core.errors import PolicyDeskError
from customers.models import MemberTier
from customers.privileges import PRIVILEGE_RULE_PREFIX, PrivilegeBook, offer_findings
from prompts.guard import ComplianceGuard, ComplianceReport, Finding

CONSOLE_CALLER = "console"
AUTHORITY_RULE_PREFIX = "authority-"


class ContactError(PolicyDeskError):
    """An action that does not fit the contact (not the agent's, already ended, no customer)."""


class AgentDesk:
    """The agent's actions on contacts.

    Args:
        calls: the live-call service (segments in, assist views out).
        store: the call store.
        handoffs: the chatbot's handoff queue.
        replies: agents' replies into handed-over chats.
        guard: the compliance guard of the current content.
        wrap_up: call summaries and dispositions.
        audit: where take-overs and saves are recorded.
        level_of: an agent's authority level by username (分层授权); with ``authority``, a draft
            promising beyond the agent's level is refused like a red line.
        authority: the current authority rules.
        on_saved: told of each saved wrap-up (call id, disposition): quality records it.
        tier_of: a customer's membership tier by id; with ``privileges``, a draft offering a
            privilege the contact's customer's tier does not include is refused like a red line.
        privileges: the current member privileges.
    """

    def __init__(
        self,
        calls: CallService,
        store: CallStore,
        handoffs: HandoffQueue,
        replies: AgentReplies,
        guard: ComplianceGuard,
        wrap_up: WrapUpService,
        audit: AuditLog,
        level_of: Callable[[str], Level] | None = None,
        authority: Callable[[], AuthorityLimits] | None = None,
        on_saved: Callable[[str, str], None] | None = None,
        tier_of: Callable[[str], MemberTier] | None = None,
        privileges: Callable[[], PrivilegeBook] | None = None,
    ) -> None:
        self._tier_of = tier_of
        self._privileges = privileges
        self._level_of = level_of
        self._authority = authority
        self._calls = calls
        self._store = store
        self._handoffs = handoffs
        self._replies = replies
        self._guard = guard
        self._wrap_up = wrap_up
        self._audit = audit
        self._on_saved = on_saved

    # ----- opening contacts ---------------------------------------------------------------

    def open_console_call(self, user: User, customer_id: str | None) -> Call:
        """A call the agent types or replays at the console.

        Raises:
            PermissionDeniedError: the user may not use the console.
            CustomerNotFoundError: unknown customer.
        """
        require(user, Action.USE_CONSOLE)
        started = self._calls.start(
            NewCall(caller_number=CONSOLE_CALLER, agent=user.username, customer_id=customer_id),
            channel=Channel.CONSOLE,
        )
        return self._store.get(started.call_id)

    def take_handoff(self, user: User, handoff_id: str) -> Call:
        """Accept a waiting chat handoff (or reopen one this agent holds) as a contact whose
        transcript is the chat so far.

        Raises:
            PermissionDeniedError: the user may not handle handoffs.
            HandoffNotFoundError: unknown handoff.
            HandoffStateError: taken by someone else, or resolved.
        """
        require(user, Action.HANDLE_HANDOFFS)
        handoff = self._handoffs.get(handoff_id)
        if handoff.state is HandoffState.WAITING:
            handoff = self._handoffs.accept(handoff_id, user.username)
        elif handoff.accepted_by != user.username or handoff.state is not HandoffState.ACCEPTED:
            raise HandoffStateError(
                f"handoff {handoff_id} is {handoff.state.value} by {handoff.accepted_by or '—'}"
            )
        existing = self._store.for_handoff(handoff_id)
        if existing is not None:
            return self.sync_chat(existing)
        customer_id = handoff.customer.id if handoff.customer else None
        started = self._calls.start(
            NewCall(caller_number="chat", agent=user.username, customer_id=customer_id),
            channel=Channel.CHAT,
            handoff_id=handoff_id,
        )
        for seq, turn in enumerate(handoff.transcript):
            self._calls.add_segment(
                started.call_id,
                NewSegment(seq=seq, speaker=turn.speaker, text=turn.text, final=True),
            )
        call = self._store.get(started.call_id)
        info = call.info.model_copy(update={"chat_seen": len(handoff.transcript)})
        self._audit.record(user.username, "handoff.take", handoff_id, call.id)
        return self._store.update_info(call, info)

    # ----- during the contact -------------------------------------------------------------

    def say(self, user: User, call_id: str, speaker: Speaker, text: str) -> Call:
        """Add a turn typed at the console (a console call only: telephony and chat bring their
        own words).

        Raises:
            ContactError: not this agent's console call, or ended.
            ValidationError: an empty or over-long turn.
        """
        call = self._mine(user, call_id)
        if call.channel is not Channel.CONSOLE:
            raise ContactError("turns are typed only on a call opened at the console")
        self._append(call, speaker, text)
        return self._store.get(call_id)

    def correct_topic(self, user: User, call_id: str, fix: TopicFix) -> Call:
        """The agent's one-click correction of what the contact is about (any channel).

        Raises:
            ContactError: not this agent's live contact.
            PolicyDeskError: a value the topic lexicon does not know for that facet.
        """
        self._mine(user, call_id)
        call = self._calls.correct_topic(call_id, fix)
        self._audit.record(user.username, "call.topic", call_id, f"{fix.facet}={fix.name}")
        return call

    def check(
        self, text: str, user: User | None = None, customer_id: str | None = None
    ) -> ComplianceReport:
        """The guard's check of what the agent is about to say or send; with the agent, also
        the promises beyond their authority level; with the contact's customer, also offers of
        privileges their tier does not include."""
        report = self._guard.check(text)
        extra = [*self._promises(text, user), *self._offers(text, customer_id)]
        if not extra:
            return report
        findings = sorted([*report.findings, *extra], key=lambda f: (f.start, f.rule))
        return report.model_copy(update={"findings": findings})

    def reword(self, text: str, user: User | None = None, customer_id: str | None = None) -> str:
        """The draft with each offending sentence replaced by its rule's compliant wording (the
        rest of the draft kept as typed); with the agent, promises beyond their level too; with
        the customer, offers beyond their tier."""
        cleaned = self._guard.sanitize(text)[0]
        for finding in self._promises(cleaned, user):
            cleaned = cleaned.replace(finding.sentence, finding.rewrite)
        for finding in self._offers(cleaned, customer_id):
            cleaned = cleaned.replace(finding.sentence, finding.rewrite)
        return cleaned

    def _offers(self, text: str, customer_id: str | None) -> list[Finding]:
        if customer_id is None or self._tier_of is None or self._privileges is None:
            return []
        return offer_findings(text, self._tier_of(customer_id), self._privileges())

    def _promises(self, text: str, user: User | None) -> list[Finding]:
        if user is None or self._level_of is None or self._authority is None:
            return []
        return promise_findings(text, self._level_of(user.username), self._authority())

    def reply(self, user: User, call_id: str, text: str) -> Call:
        """Send (chat) or say (phone, console) the agent's draft, after the guard.

        A red line stops it on every channel: nothing is sent or recorded. So does a promise
        beyond the agent's authority level (the message says to request approval first).

        Raises:
            ReplyNotCompliantError: the draft crosses a red line or the agent's authority.
            ContactError: not this agent's live contact.
        """
        call = self._mine(user, call_id)
        report = self.check(text, user, call.customer_id)
        if not report.compliant:
            first = report.findings[0]
            message = f"「{first.text}」 {first.reason}; say instead: {first.rewrite}"
            if any(f.rule.startswith(AUTHORITY_RULE_PREFIX) for f in report.findings):
                message += " (beyond your authority level: request approval first, 申请授权)"
            if any(f.rule.startswith(PRIVILEGE_RULE_PREFIX) for f in report.findings):
                message += " (not included in the customer's membership tier, 会员权益不含)"
            raise ReplyNotCompliantError(message, report.rules)
        if call.channel is Channel.CHAT and call.handoff_id is not None:
            handoff_id = call.handoff_id
            call = self.sync_chat(call)  # what the customer wrote before this reply comes first
            self._replies.send(handoff_id, user.username, text)
            self._append(call, Speaker.AGENT, text)
            call = self._store.get(call_id)
            bumped = call.info.model_copy(update={"chat_seen": call.info.chat_seen + 1})
            return self._store.update_info(call, bumped)
        if call.channel is Channel.CONSOLE:
            self._append(call, Speaker.AGENT, text)
        # on a phone call the agent says it; the telephony side sends the words back
        return self._store.get(call_id)

    def sync_chat(self, call: Call) -> Call:
        """Bring a chat contact up to date: what the customer wrote since (redacted)."""
        if call.channel is not Channel.CHAT or call.handoff_id is None:
            return call
        if call.state is not CallState.LIVE:
            return call
        handoff = self._handoffs.get(call.handoff_id)
        try:
            fresh, seen = self._replies.customer_messages(handoff, call.info.chat_seen)
        except ConversationNotFoundError:  # a handoff posted without a chat behind it
            return call
        if not fresh and seen == call.info.chat_seen:
            return call
        for turn in fresh:
            self._append(call, Speaker.CUSTOMER, turn.text)
            call = self._store.get(call.id)
        info = call.info.model_copy(update={"chat_seen": seen})
        return self._store.update_info(call, info)

    # ----- ending -------------------------------------------------------------------------

    def save_wrap_up(
        self, user: User, call_id: str, text: str, disposition: Disposition | str
    ) -> Call:
        """Save the summary and disposition to the customer's history (a customer must be
        linked: identify the caller first).

        Raises:
            ContactError: no customer linked, or not this agent's contact.
            PolicyDeskError: an empty or over-long summary, an unknown disposition.
        """
        call = self._mine(user, call_id, live_only=False)
        if call.customer_id is None:
            raise ContactError("identify the customer first (policy, plate or claim number)")
        self._wrap_up.save(call.customer_id, text, disposition, agent=user.username)
        saved = self._store.update_info(call, call.info.model_copy(update={"saved": True}))
        self._audit.record(user.username, "call.save", call_id, str(disposition))
        if self._on_saved is not None:
            self._on_saved(call_id, Disposition(disposition).value)
        return saved

    def finish(self, user: User, call_id: str, resolution: str = "") -> Call:
        """End the contact: a chat's handoff is resolved with the resolution (the summary)."""
        call = self._mine(user, call_id)
        if call.channel is Channel.CHAT and call.handoff_id is not None:
            self._handoffs.resolve(call.handoff_id, user.username, resolution or "已处理")
        return self._calls.close(call.id)

    # ----- internals ----------------------------------------------------------------------

    def _mine(self, user: User, call_id: str, live_only: bool = True) -> Call:
        call = self._store.get(call_id)
        if call.agent != user.username:
            raise ContactError(f"contact {call_id} belongs to {call.agent}")
        if live_only and call.state is not CallState.LIVE:
            raise ContactError(f"contact {call_id} has ended")
        return call

    def _append(self, call: Call, speaker: Speaker, text: str) -> None:
        seq = max((s.seq for s in call.segments), default=-1) + 1
        self._calls.add_segment(
            call.id, NewSegment(seq=seq, speaker=speaker, text=text, final=True)
        )
