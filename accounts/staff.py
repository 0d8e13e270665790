"""Staff profiles: an agent's team and authority level (分层授权), next to their account.

An account without a profile is a basic-level agent in no team: a new agent can grant only what
the basic level allows until a supervisor sets their level.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update

from accounts.authority import Level, as_level
from accounts.store import (
    MAX_DISPLAY_NAME_CHARS,
    InvalidAccountError,
    check_username,
    normalise_username,
)
from db.schema import staff_profiles
from db.store import SqlStore

MAX_TEAM_CHARS = 32


class StaffProfile(BaseModel):
    """Who an agent is on the floor: name, team and authority level."""

    model_config = ConfigDict(frozen=True)

    username: str
    display_name: str = ""
    team: str = ""
    level: Level = Level.BASIC


def _profile(row: Any) -> StaffProfile:
    return StaffProfile(
        username=row.username, display_name=row.display_name, team=row.team, level=row.level
    )


class StaffStore(SqlStore):
    """Reads and writes staff profiles (``staff_profiles``)."""

    def profile(self, username: str) -> StaffProfile:
        """The agent's profile; a basic-level agent in no team when none is stored."""
        name = normalise_username(username)
        with self.reading() as conn:
            row = conn.execute(
                select(staff_profiles).where(staff_profiles.c.username == name)
            ).first()
        return StaffProfile(username=name) if row is None else _profile(row)

    def level(self, username: str) -> Level:
        """The agent's authority level (basic when no profile is stored)."""
        return self.profile(username).level

    def exists(self, username: str) -> bool:
        """Whether a profile is stored for the username."""
        name = normalise_username(username)
        with self.reading() as conn:
            found = conn.execute(
                select(staff_profiles.c.username).where(staff_profiles.c.username == name)
            ).first()
        return found is not None

    def set(self, username: str, display_name: str, team: str, level: Level | str) -> StaffProfile:
        """Create or replace an agent's profile.

        Raises:
            InvalidAccountError: a bad username, an over-long display name or team.
            AuthorityError: an unknown level (named, with the known ones).
        """
        name = check_username(username)
        label = " ".join(display_name.split())
        if len(label) > MAX_DISPLAY_NAME_CHARS:
            raise InvalidAccountError(
                f"the display name must have at most {MAX_DISPLAY_NAME_CHARS} characters"
            )
        group = team.strip()
        if len(group) > MAX_TEAM_CHARS:
            raise InvalidAccountError(
                f"the team {team!r} is longer than {MAX_TEAM_CHARS} characters"
            )
        profile = StaffProfile(username=name, display_name=label, team=group, level=as_level(level))
        values = {"display_name": label, "team": group, "level": profile.level.value}
        with self.transaction() as conn:
            changed = conn.execute(
                update(staff_profiles).where(staff_profiles.c.username == name).values(**values)
            ).rowcount
            if not changed:
                conn.execute(insert(staff_profiles).values(username=name, **values))
        return profile

    def teams(self) -> list[str]:
        """The teams with at least one profile, in order (no empty team)."""
        with self.reading() as conn:
            rows = conn.execute(
                select(staff_profiles.c.team)
                .where(staff_profiles.c.team != "")
                .distinct()
                .order_by(staff_profiles.c.team)
            )
            return [row.team for row in rows]

    # kept last: below this method, ``list`` in an annotation would name the method
    def list(self) -> list[StaffProfile]:
        """Every stored profile, by username."""
        with self.reading() as conn:
            rows = conn.execute(select(staff_profiles).order_by(staff_profiles.c.username))
            return [_profile(row) for row in rows]
