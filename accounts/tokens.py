"""Short-lived access tokens for agents on the HTTP API (JWT, HS256, PyJWT).

An agent exchanges username and password for a token (``POST /v1/auth/token``) and sends it as
``Authorization: Bearer <token>``. The token names the user and expires after a few minutes; on
every request the account is read again, so a deactivated account or a removed role takes effect
at once, token or not. This is the only module that imports ``jwt``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import BaseModel
from sqlalchemy import select

from core.errors import PolicyDeskError
from db.schema import auth_secrets
from db.store import SqlStore

ALGORITHM = "HS256"
AUDIENCE = "policydesk-api"
MIN_SECRET_BYTES = 32


class InvalidTokenError(PolicyDeskError):
    """The token is missing, malformed, forged or expired (one message for all: no oracle)."""

    def __init__(self) -> None:
        super().__init__("a valid access token is required: log in again")


class AccessToken(BaseModel):
    """A freshly issued token and when it stops working."""

    token: str
    expires_at: datetime
    expires_in: int


class TokenClaims(BaseModel):
    """What a valid token says."""

    username: str
    issued_at: datetime
    expires_at: datetime
    token_id: str


class SigningKeys(SqlStore):
    """The installation's token-signing secret, created by the migrations (``auth_secrets``)."""

    def secret(self) -> bytes:
        """The stored secret.

        Raises:
            PolicyDeskError: none stored (the database was not upgraded).
        """
        with self.reading() as conn:
            value = conn.execute(select(auth_secrets.c.secret).where(auth_secrets.c.id == 1))
            row = value.scalar()
        if not row:
            raise PolicyDeskError("no token-signing secret: run `policydesk db upgrade`")
        return bytes.fromhex(str(row))


class TokenIssuer:
    """Issues and checks access tokens.

    Args:
        secret: the signing key, at least 32 bytes.
        lifetime: how long a token is valid.

    Raises:
        ValueError: a secret that is too short or a lifetime that is not positive.
    """

    def __init__(self, secret: bytes, lifetime: timedelta) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the signing secret must have at least {MIN_SECRET_BYTES} bytes")
        if lifetime <= timedelta(0):
            raise ValueError(f"the token lifetime must be positive, got {lifetime}")
        self._secret = secret
        self._lifetime = lifetime

    def issue(self, username: str, now: datetime | None = None) -> AccessToken:
        """A new token for this account."""
        issued = (now or datetime.now(UTC)).replace(microsecond=0)
        expires = issued + self._lifetime
        claims = {
            "sub": username,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": expires,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return AccessToken(
            token=token,
            expires_at=expires,
            expires_in=int(self._lifetime.total_seconds()),
        )

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token.

        Raises:
            InvalidTokenError: malformed, signed with another key, for another audience, without
                the required claims, or expired.
        """
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # never "none", never an algorithm the token names
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "iat", "jti", "aud"]},
            )
        except jwt.PyJWTError:
            raise InvalidTokenError() from None
        return TokenClaims(
            username=str(claims["sub"]),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            token_id=str(claims["jti"]),
        )
