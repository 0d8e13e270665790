"""Local accounts in SQL: usernames, Argon2 password hashes, roles, active flag.

The hash never leaves this module: callers get ``User``. ``authenticate`` answers every failure
(unknown user, wrong password, deactivated account) with the same ``AuthenticationError``, and an
unknown username costs one hash verification like a known one, so neither the message nor the time
tells which usernames exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from accounts.models import USERNAME_RE, USERNAME_RULE, Role, User
from accounts.passwords import (
    DEMO_PASSWORD,
    MAX_PASSWORD_CHARS,
    MIN_CHARACTER_CLASSES,
    MIN_PASSWORD_CHARS,
    PasswordHashing,
)
from core.errors import PolicyDeskError
from db.schema import users_table
from db.store import SqlStore

MAX_DISPLAY_NAME_CHARS = 100


class InvalidAccountError(PolicyDeskError):
    """A username, password, role or display name that is not acceptable; names the problem."""


class DuplicateUserError(PolicyDeskError):
    """An account with this username exists already."""


class UserNotFoundError(PolicyDeskError):
    """No account with this username."""


class AuthenticationError(PolicyDeskError):
    """Login failed. Deliberately the same message whatever the reason."""

    def __init__(self) -> None:
        super().__init__("unknown username or wrong password")


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared trimmed and in lower case."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username.

    Raises:
        InvalidAccountError: it does not match the username rule.
    """
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise InvalidAccountError(f"invalid username {username!r}: {USERNAME_RULE}")
    return name


PASSWORD_RULE = (
    f"at least {MIN_PASSWORD_CHARS} characters with at least {MIN_CHARACTER_CLASSES} of: "
    "lower-case letters, upper-case letters, digits, other characters; not containing the "
    "username, not the demo password"
)


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and other characters the password uses."""
    return sum(
        (
            any(c.islower() and c.isascii() for c in password),
            any(c.isupper() and c.isascii() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.isascii() and c.isalnum()) for c in password),
        )
    )


def check_password(password: str, username: str = "") -> str:
    """The password, when it meets the policy for a new or changed password (``PASSWORD_RULE``).

    Raises:
        InvalidAccountError: names the rule the password breaks.
    """
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidAccountError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidAccountError(
            f"the password must have at least {MIN_PASSWORD_CHARS} characters ({PASSWORD_RULE})"
        )
    if character_classes(password) < MIN_CHARACTER_CLASSES:
        raise InvalidAccountError(
            f"the password must mix at least {MIN_CHARACTER_CLASSES} kinds of characters "
            f"({PASSWORD_RULE})"
        )
    name = normalise_username(username)
    if name and name in password.lower():
        raise InvalidAccountError("the password must not contain the username")
    if password.lower() == DEMO_PASSWORD:
        raise InvalidAccountError("the demo password cannot be chosen")
    return password


def check_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    """Known roles, at least one.

    Raises:
        InvalidAccountError: an unknown role (named, with the known ones), or none at all.
    """
    found: set[Role] = set()
    for role in roles:
        try:
            found.add(Role(str(role).strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidAccountError(f"unknown role {role!r}: use one of {known}") from None
    if not found:
        raise InvalidAccountError("an account needs at least one role")
    return frozenset(found)


def _display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        raise InvalidAccountError(
            f"the display name must have at most {MAX_DISPLAY_NAME_CHARS} characters"
        )
    return name


def _user(row: Any) -> User:
    return User(
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(Role(r) for r in row.roles),
        active=row.active,
        created_at=row.created_at,
    )


def _role_values(roles: frozenset[Role]) -> list[str]:
    return [role.value for role in Role if role in roles]


class AccountStore(SqlStore):
    """Creates, authenticates and manages local accounts.

    Args:
        engine: the shared SQLAlchemy engine.
        passwords: the hashing policy (argon2-cffi defaults unless given).
    """

    def __init__(self, engine: Engine, passwords: PasswordHashing | None = None) -> None:
        super().__init__(engine)
        self._passwords = passwords or PasswordHashing()

    def add(
        self,
        username: str,
        password: str,
        roles: Iterable[Role | str],
        display_name: str = "",
        now: datetime | None = None,
        demo: bool = False,
    ) -> User:
        """Create an active account.

        Args:
            demo: a demo account with the shipped demo password (``user seed-demo``): exempt from
                the password policy and marked, so the console warns until it is changed.

        Raises:
            InvalidAccountError: a bad username, password, role or display name.
            DuplicateUserError: the username is taken.
        """
        name = check_username(username)
        if demo:
            if password != DEMO_PASSWORD:
                raise InvalidAccountError("a demo account takes the demo password only")
        else:
            check_password(password, name)
        role_set = check_roles(roles)
        label = _display_name(display_name)
        when = now or datetime.now(UTC)
        if self._row(name) is not None:
            raise DuplicateUserError(f"an account named {name!r} exists already")
        try:
            with self.transaction() as conn:
                conn.execute(
                    insert(users_table).values(
                        username=name,
                        display_name=label,
                        password_hash=self._passwords.hash(password),
                        roles=_role_values(role_set),
                        active=True,
                        created_at=when,
                        password_changed_at=when,
                        demo_password=demo,
                    )
                )
        except IntegrityError:  # created by someone else between the check and the insert
            raise DuplicateUserError(f"an account named {name!r} exists already") from None
        return User(username=name, display_name=label, roles=role_set, active=True, created_at=when)

    def authenticate(self, username: str, password: str) -> User:
        """The active account whose password this is; upgrades an outdated hash on the way.

        Raises:
            AuthenticationError: unknown username, wrong password or deactivated account (one
                message for all three).
        """
        row = self._row(normalise_username(username))
        if row is None:
            self._passwords.burn(password)
            raise AuthenticationError()
        if not self._passwords.verify(row.password_hash, password) or not row.active:
            raise AuthenticationError()
        if self._passwords.needs_rehash(row.password_hash):
            with self.transaction() as conn:
                conn.execute(
                    update(users_table)
                    .where(users_table.c.username == row.username)
                    .values(password_hash=self._passwords.hash(password))
                )
        return _user(row)

    def get(self, username: str) -> User:
        """One account, active or not.

        Raises:
            UserNotFoundError: no such username.
        """
        row = self._row(normalise_username(username))
        if row is None:
            raise UserNotFoundError(f"no account named {username!r}")
        return _user(row)

    def set_roles(self, username: str, roles: Iterable[Role | str]) -> User:
        """Replace an account's roles.

        Raises:
            InvalidAccountError: an unknown role, or none.
            UserNotFoundError: no such username.
        """
        role_set = check_roles(roles)
        self._update(username, roles=_role_values(role_set))
        return self.get(username)

    def set_password(self, username: str, password: str, now: datetime | None = None) -> None:
        """Replace an account's password.

        Raises:
            InvalidAccountError: the password is too short, too long or the username.
            UserNotFoundError: no such username.
        """
        check_password(password, username)
        self._update(
            username,
            password_hash=self._passwords.hash(password),
            password_changed_at=now or datetime.now(UTC),
            demo_password=False,
        )

    def demo_password_accounts(self) -> list[str]:
        """Active accounts that still have the shipped demo password (never changed)."""
        with self.reading() as conn:
            rows = conn.execute(
                select(users_table.c.username)
                .where(users_table.c.demo_password.is_(True), users_table.c.active.is_(True))
                .order_by(users_table.c.username)
            )
            return [row.username for row in rows]

    def deactivate(self, username: str) -> User:
        """Disable logins for an account; its name stays in the audit trail.

        Raises:
            UserNotFoundError: no such username.
        """
        self._update(username, active=False)
        return self.get(username)

    def activate(self, username: str) -> User:
        """Re-enable a deactivated account.

        Raises:
            UserNotFoundError: no such username.
        """
        self._update(username, active=True)
        return self.get(username)

    def _row(self, name: str) -> Any:
        with self.reading() as conn:
            return conn.execute(select(users_table).where(users_table.c.username == name)).first()

    def _update(self, username: str, **values: object) -> None:
        with self.transaction() as conn:
            changed = conn.execute(
                update(users_table)
                .where(users_table.c.username == normalise_username(username))
                .values(**values)
            ).rowcount
        if not changed:
            raise UserNotFoundError(f"no account named {username!r}")

    # kept last: below this method, ``list`` in an annotation would name the method
    def list(self, include_inactive: bool = True) -> list[User]:
        """Accounts ordered by username."""
        query = select(users_table).order_by(users_table.c.username)
        if not include_inactive:
            query = query.where(users_table.c.active.is_(True))
        with self.reading() as conn:
            return [_user(row) for row in conn.execute(query)]
