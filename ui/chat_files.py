"""Sending the files a customer picked in the chat: each is stored in the conversation, then one
message carries them all (the accident photos a report asks for arrive together)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.models import BotAnswer
from chatbot.service import ChatbotService
from core.errors import PolicyDeskError


@dataclass(frozen=True)
class PickedFile:
    """One file as the customer's browser sent it."""

    name: str
    data: bytes
    content_type: str | None = None


class FileRefusedError(PolicyDeskError):
    """One of the picked files was not accepted; no message was sent."""

    def __init__(self, filename: str, cause: PolicyDeskError) -> None:
        super().__init__(str(cause))
        self.filename = filename
        """The refused file's name, as the customer picked it."""


def send_files(
    bot: ChatbotService,
    conversation_id: str,
    files: Sequence[PickedFile],
    claim_no: str | None = None,
) -> BotAnswer:
    """Store each file in the conversation (``receive``), then post one message, without text,
    that carries them all; the bot answers it like a typed message.

    Args:
        bot: the chatbot.
        conversation_id: the customer's conversation.
        files: the files picked, at least one.
        claim_no: one of the verified customer's claims the files are for, if any.

    Returns:
        The bot's answer to the message carrying the files.

    Raises:
        FileRefusedError: a file was not accepted (its name and why); nothing is posted. Files
            stored before it stay in the conversation, unsent: the customer sends them again with
            the corrected set, and a stored file that no message carries is linked to nothing.
        PolicyDeskError: the message was not sent (e.g. too many messages in a minute).
    """
    if not files:
        raise PolicyDeskError("no file picked")
    ids: list[str] = []
    for file in files:
        try:
            stored = bot.receive(conversation_id, file.data, file.name, file.content_type, claim_no)
        except PolicyDeskError as exc:
            raise FileRefusedError(file.name, exc) from exc
        ids.append(stored.id)
    return bot.post(conversation_id, "", attachments=ids)
