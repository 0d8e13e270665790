"""Service accounts: API keys for integrations (the telephony connector, a WeChat or app back end).

A key is shown once, when it is created; only its SHA-256 is stored (a key is 256 random bits, so
a fast hash is enough: there is nothing to guess). Keys carry one scope, can be revoked, and the
API audits every use. Clients send a key as ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from audit.log import AuditLog
from core.errors import PolicyDeskError
from db.schema import api_keys
from db.store import SqlStore

KEY_PREFIX = "pdk_"
NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
NAME_RULE = "2-64 characters: a lower-case letter, then lower-case letters, digits, '_', '.', '-'"


class ApiScope(StrEnum):
    """What a key may do."""

    CHAT = "chat"
    """The customer channel's back end: start sessions and post customers' messages."""
    CALLS = "calls"
    """The telephony connector: live-call events."""


class ApiKeyError(PolicyDeskError):
    """A bad key name or scope, a duplicate name, or an unknown key; names the problem."""


class InvalidApiKeyError(PolicyDeskError):
    """The key is unknown or revoked (one message for both)."""

    def __init__(self) -> None:
        super().__init__("unknown or revoked API key")


class ApiKey(BaseModel):
    """A key as listed (never the key itself)."""

    name: str
    scope: ApiScope
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class NewApiKey(BaseModel):
    """A key just created: ``key`` is shown this once and never stored."""

    name: str
    scope: ApiScope
    key: str


def digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_key(token: str) -> bool:
    """True for a string in the API-key format (as opposed to an agent's access token)."""
    return token.startswith(KEY_PREFIX)


def _key(row: object) -> ApiKey:
    return ApiKey.model_validate(row, from_attributes=True)


class ApiKeyStore(SqlStore):
    """Creates, lists, revokes and checks API keys."""

    def create(self, name: str, scope: ApiScope | str, created_by: str) -> NewApiKey:
        """A new active key; the returned ``key`` is the only copy.

        Raises:
            ApiKeyError: a bad name or scope, or a name already used (revoked keys included).
        """
        name = name.strip().lower()
        if not NAME_RE.match(name):
            raise ApiKeyError(f"invalid key name {name!r}: {NAME_RULE}")
        try:
            scope = ApiScope(scope)
        except ValueError:
            known = ", ".join(s.value for s in ApiScope)
            raise ApiKeyError(f"unknown scope {scope!r}: use one of {known}") from None
        key = f"{KEY_PREFIX}{scope.value}_{secrets.token_urlsafe(32)}"
        try:
            with self.transaction() as conn:
                conn.execute(
                    insert(api_keys).values(
                        name=name,
                        scope=scope.value,
                        key_hash=digest(key),
                        prefix=key[: len(KEY_PREFIX) + len(scope.value) + 5],
                        created_at=datetime.now(UTC),
                        created_by=created_by,
                    )
                )
        except IntegrityError:
            raise ApiKeyError(f"a key named {name!r} exists already") from None
        return NewApiKey(name=name, scope=scope, key=key)

    def listing(self) -> list[ApiKey]:
        """Every key, active and revoked, by name."""
        with self.reading() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.name)).all()
        return [_key(row) for row in rows]

    def revoke(self, name: str) -> ApiKey:
        """Stop a key from working, at once and for good.

        Raises:
            ApiKeyError: no key of that name, or already revoked.
        """
        with self.transaction() as conn:
            changed = conn.execute(
                update(api_keys)
                .where(api_keys.c.name == name.strip().lower(), api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            ).rowcount
        if not changed:
            raise ApiKeyError(f"no active key named {name!r}")
        (key,) = [k for k in self.listing() if k.name == name.strip().lower()]
        return key

    def authenticate(
        self, key: str, audit: AuditLog | None = None, target: str = "", detail: str = ""
    ) -> ApiKey:
        """The active key this is, with its use recorded: its ``last_used_at``, and with
        ``audit`` an ``apikey.use`` entry (``target``, ``detail``) in the same transaction, so a
        request pays for one commit.

        Raises:
            InvalidApiKeyError: unknown or revoked.
        """
        now = datetime.now(UTC)
        with self.transaction() as conn:
            row = conn.execute(
                select(api_keys).where(
                    api_keys.c.key_hash == digest(key), api_keys.c.revoked_at.is_(None)
                )
            ).first()
            if row is None:
                raise InvalidApiKeyError()
            conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
            if audit is not None:
                audit.record(
                    f"apikey:{row.name}", "apikey.use", target, detail, connection=conn, at=now
                )
        return _key(row).model_copy(update={"last_used_at": now})
