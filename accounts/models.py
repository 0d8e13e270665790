"""Account domain models: roles and users (never the password hash)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
USERNAME_RULE = (
    "2-32 characters: a lower-case letter, then lower-case letters, digits, '_', '.', '-'"
)


class Role(StrEnum):
    """What a person does at the desk; a user may hold several roles."""

    AGENT = "agent"
    TRAINER = "trainer"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"


class User(BaseModel):
    """A local account as the rest of the application sees it."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(pattern=USERNAME_RE.pattern)
    display_name: str = ""
    roles: frozenset[Role] = frozenset()
    active: bool = True
    created_at: datetime

    @property
    def label(self) -> str:
        """The display name when set, else the username (for audit trails and pages)."""
        return self.display_name or self.username

    def has_role(self, role: Role) -> bool:
        """True when the user holds this role."""
        return role in self.roles

    def sorted_roles(self) -> list[Role]:
        """The roles in the order of ``Role`` (for stable display)."""
        return [role for role in Role if role in self.roles]
