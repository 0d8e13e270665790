"""Chat conversations in SQL, so a restart or a second API worker loses nothing.

Each conversation is one row holding its ``Conversation`` as JSON and a version number; a save
only succeeds against the version it read (optimistic locking), so two messages racing on one
conversation cannot silently overwrite each other.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from chatbot.models import Conversation
from core.errors import PolicyDeskError
from core.sql import UtcDateTime

metadata = MetaData()

conversations = Table(
    "chat_conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
)


class ConversationNotFoundError(PolicyDeskError):
    """No conversation with that id."""


class ConversationBusyError(PolicyDeskError):
    """Another message on the same conversation was saved first."""


class ConversationStore:
    """Creates, loads and saves conversations."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        metadata.create_all(engine)

    def create(self, channel: str = "chat", now: datetime | None = None) -> Conversation:
        """A new, empty conversation with an unguessable id."""
        when = now or datetime.now(UTC)
        conversation = Conversation(
            id="S" + secrets.token_hex(12), created_at=when, channel=channel
        )
        with self._engine.begin() as conn:
            conn.execute(
                insert(conversations).values(
                    id=conversation.id,
                    created_at=when,
                    updated_at=when,
                    version=1,
                    payload=conversation.model_dump(mode="json"),
                )
            )
        return conversation

    def load(self, conversation_id: str) -> tuple[Conversation, int]:
        """The conversation and the version to save against.

        Raises:
            ConversationNotFoundError: unknown id.
        """
        with self._engine.connect() as conn:
            row = conn.execute(
                select(conversations.c.payload, conversations.c.version).where(
                    conversations.c.id == conversation_id
                )
            ).first()
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        return Conversation.model_validate(row.payload), int(row.version)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction for a save and what must commit with it (the handoff queue shares
        this database)."""
        with self._engine.begin() as conn:
            yield conn

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
        if connection is None:
            with self._engine.begin() as conn:
                return self.save(conversation, version, conn)
        changed = connection.execute(
            update(conversations)
            .where(conversations.c.id == conversation.id, conversations.c.version == version)
            .values(
                payload=conversation.model_dump(mode="json"),
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
