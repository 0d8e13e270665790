"""The human agent's side of a handed-over chat: replies to the customer, and what the customer
wrote since.

Once an agent accepts a handoff they talk to the customer in the same conversation: a reply is
appended to the conversation as an agent turn carrying the agent's ID (the customer's client
shows it as the person's words, not the bot's), and the agent's console pulls the customer's new
messages. Only the agent who accepted the handoff may reply, only while it is accepted, and a
reply that crosses a compliance red line (全赔, 百分百理赔…) is refused with the rule and a
compliant wording, never sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chatbot.handoff import HandoffRequest, HandoffState
from chatbot.queue import HandoffQueue, HandoffStateError
from chatbot.sessions import ConversationBusyError, ConversationStore
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.files import clean_text
from core.masking import redact
from prompts.guard import ComplianceGuard

MAX_REPLY_CHARS = 1000
SAVE_ATTEMPTS = 3
"""A reply races the customer's own messages on the conversation; it is retried this often."""


class ReplyNotCompliantError(PolicyDeskError):
    """The reply crosses a compliance red line; the message names the rule and a rewording."""

    def __init__(self, message: str, rules: list[str]) -> None:
        super().__init__(message)
        self.rules = rules


class AgentReplies:
    """Sends agents' replies into handed-over conversations and reads what came back."""

    def __init__(
        self, conversations: ConversationStore, queue: HandoffQueue, guard: ComplianceGuard
    ) -> None:
        self._conversations = conversations
        self._queue = queue
        self._guard = guard

    def send(self, handoff_id: str, agent: str, text: str, now: datetime | None = None) -> Turn:
        """Send one reply to the customer of an accepted handoff.

        Args:
            handoff_id: the handoff.
            agent: the agent's ID; must be the one who accepted it.
            text: the reply.
            now: when it was sent (default: now).

        Returns:
            The agent turn as stored in the conversation.

        Raises:
            HandoffNotFoundError: unknown handoff.
            HandoffStateError: not accepted (waiting or resolved) or accepted by someone else.
            InvalidQueryError: an empty or over-long reply.
            ReplyNotCompliantError: the reply crosses a red line (nothing is sent).
            ConversationBusyError: the conversation kept changing (send again).
        """
        handoff = self._queue.get(handoff_id)
        name = agent.strip()
        if handoff.state is not HandoffState.ACCEPTED:
            raise HandoffStateError(
                f"handoff {handoff_id} is {handoff.state.value}; only an accepted handoff "
                "can be replied to"
            )
        if handoff.accepted_by != name:
            raise HandoffStateError(
                f"handoff {handoff_id} was accepted by {handoff.accepted_by}, not {name or '—'}"
            )
        reply = clean_text(text, MAX_REPLY_CHARS, "reply")
        report = self._guard.check(reply)
        if not report.compliant:
            first = report.findings[0]
            raise ReplyNotCompliantError(
                f"the reply was not sent: 「{first.text}」 {first.reason}; "
                f"say instead: {first.rewrite}",
                report.rules,
            )
        turn = Turn(speaker=Speaker.AGENT, text=reply, at=now or datetime.now(UTC), author=name)
        for _ in range(SAVE_ATTEMPTS):
            conversation, version = self._conversations.load(handoff.session_id)
            conversation.turns.append(turn)
            try:
                self._conversations.save(conversation, version)
            except ConversationBusyError:
                continue
            return turn
        raise ConversationBusyError(
            f"conversation {handoff.session_id} kept changing; send the reply again"
        )

    def customer_messages(self, handoff: HandoffRequest, seen: int) -> tuple[list[Turn], int]:
        """The customer's messages after the first ``seen`` turns of the conversation, redacted.

        Args:
            handoff: the handoff whose conversation to read.
            seen: how many of the conversation's turns the agent has already had; start with
                ``len(handoff.transcript)`` (the package covers those).

        Returns:
            The new customer turns (ID, phone and card numbers masked) and the new ``seen``.

        Raises:
            ConversationNotFoundError: the conversation is gone.
        """
        conversation, _ = self._conversations.load(handoff.session_id)
        fresh = [
            t.model_copy(update={"text": redact(t.text)})
            for t in conversation.turns[seen:]
            if t.speaker is Speaker.CUSTOMER
        ]
        return fresh, len(conversation.turns)
