"""One conversation model for calls and chats: who said what, and when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from core.files import NonBlankText


class Speaker(StrEnum):
    """Who said a turn."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"


class Turn(BaseModel):
    """One turn of a call."""

    speaker: Speaker
    text: NonBlankText = Field(max_length=2000)
    at: datetime | None = None
    author: str | None = Field(
        default=None,
        max_length=64,
        description="the human agent who wrote an agent turn (their username); None otherwise",
    )
