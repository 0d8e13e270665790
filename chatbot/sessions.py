"""Chat conversations in SQL, so a restart or a second API worker loses nothing.

Each conversation is one row holding its ``Conversation`` as JSON and a version number; a save
only succeeds against the version it read (optimistic locking), so two messages racing on one
conversation cannot silently overwrite each other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
    update,
)

from chatbot.models import Conversation
from core.errors import PolicyDeskError
from core.masking import redact
from db.changes import Change
from db.schema import conversations
from db.store import SqlStore


class ConversationNotFoundError(PolicyDeskError):
    """No conversation with that id."""


class ConversationBusyError(PolicyDeskError):
    """Another message on the same conversation was saved first."""


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def stored_form(conversation: Conversation) -> dict[str, object]:
    """What is written: the conversation with ID, phone and card numbers in every turn masked
    (the identity check reads the raw message before it is saved, and never needs it again)."""
    turns = [t.model_copy(update={"text": redact(t.text)}) for t in conversation.turns]
    return conversation.model_copy(update={"turns": turns}).model_dump(mode="json")


class ConversationStore(SqlStore):
    """Creates, loads and saves conversations; the text is stored redacted."""

    ANNOUNCES = Change.CONVERSATION

    def create(
        self, channel: str = "chat", now: datetime | None = None, conversation_id: str | None = None
    ) -> tuple[Conversation, str]:
        """A new, empty conversation with an unguessable id (or ``conversation_id``: recorded
        conversations such as the demo history's), and its secret (only the secret's hash is
        stored: the customer's client keeps the secret and proves ownership with it)."""
        when = now or datetime.now(UTC)
        conversation = Conversation(
            id=conversation_id or "S" + secrets.token_hex(12), created_at=when, channel=channel
        )
        secret = secrets.token_urlsafe(24)
        with self.transaction() as conn:
            conn.execute(
                insert(conversations).values(
                    id=conversation.id,
                    created_at=when,
                    updated_at=when,
                    version=1,
                    payload=stored_form(conversation),
                    secret_hash=_secret_hash(secret),
                )
            )
        return conversation, secret

    def check_secret(self, conversation_id: str, secret: str) -> bool:
        """True when ``secret`` belongs to the conversation (constant-time comparison); False for
        an unknown conversation or one created before secrets existed."""
        with self.reading() as conn:
            stored = conn.execute(
                select(conversations.c.secret_hash).where(conversations.c.id == conversation_id)
            ).scalar()
        expected = stored or "0" * 64
        return hmac.compare_digest(expected, _secret_hash(secret)) and stored is not None

    def load(self, conversation_id: str) -> tuple[Conversation, int]:
        """The conversation and the version to save against.

        Raises:
            ConversationNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(
                select(conversations.c.payload, conversations.c.version).where(
                    conversations.c.id == conversation_id
                )
            ).first()
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        return Conversation.model_validate(row.payload), int(row.version)

    def save(
        self, conversation: Conversation, version: int, connection: Connection | None = None
    ) -> int:
        """Save if nobody saved since ``version``; returns the new version.

        Args:
            conversation: the conversation.
            version: the version it was loaded at.
            connection: save inside the caller's transaction (see ``transaction``).

        Raises:
            ConversationBusyError: another message was saved in between.
        """
        with self.transaction(connection) as conn:
            changed = conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation.id, conversations.c.version == version)
                .values(
                    payload=stored_form(conversation),
                    version=version + 1,
                    updated_at=datetime.now(UTC),
                )
            ).rowcount
        if changed != 1:
            raise ConversationBusyError(
                f"conversation {conversation.id} changed while this message was being answered; "
                "send it again"
            )
        return version + 1

    def remove_prefixed(self, prefix: str) -> int:
        """Delete the conversations whose id starts with ``prefix`` (generated data such as the
        demo history being replaced); returns how many."""
        like = conversations.c.id.startswith(prefix, autoescape=True)
        with self.transaction() as conn:
            return int(conn.execute(delete(conversations).where(like)).rowcount)
