"""Closed by default: the token-signing secret, service API keys, login and identity-check
throttling, per-client rate counters, the customer's session secret, demo-password marks on
accounts, and time-zone-aware customer timestamps.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    secrets_table = op.create_table(
        "auth_secrets",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # the key that signs agents' access tokens: random per installation, shared by every
    # worker through the database (POLICYDESK_AUTH_SECRET overrides it)
    op.bulk_insert(
        secrets_table,
        [{"id": 1, "secret": secrets.token_hex(32), "created_at": datetime.now(UTC)}],
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_login_attempts_at"), "login_attempts", ["at"], unique=False)
    op.create_index(op.f("ix_login_attempts_client"), "login_attempts", ["client"], unique=False)
    op.create_index(
        op.f("ix_login_attempts_username"), "login_attempts", ["username"], unique=False
    )
    op.create_table(
        "identity_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_identity_failures_at"), "identity_failures", ["at"], unique=False)
    op.create_index(
        op.f("ix_identity_failures_client"), "identity_failures", ["client"], unique=False
    )
    op.create_index(
        op.f("ix_identity_failures_subject"), "identity_failures", ["subject"], unique=False
    )
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    with op.batch_alter_table("chat_conversations") as batch:
        batch.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("accounts_users") as batch:
        batch.add_column(
            sa.Column("demo_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _mark_demo_passwords()
    # customer records and card feedback keep time-zone-aware times like every other table
    with op.batch_alter_table("cust_claims") as batch:
        batch.alter_column("reported_at", type_=sa.DateTime(timezone=True))
    with op.batch_alter_table("cust_interactions") as batch:
        batch.alter_column("at", type_=sa.DateTime(timezone=True))


def _mark_demo_passwords() -> None:
    """Accounts of a data dir set up before this revision that still have the shipped demo
    password get the mark, so the console warns about them too."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = PasswordHasher()
    users = sa.table(
        "accounts_users",
        sa.column("username", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("demo_password", sa.Boolean),
    )
    bind = op.get_bind()
    for row in bind.execute(sa.select(users.c.username, users.c.password_hash)).all():
        demo: bool = False
        with contextlib.suppress(VerificationError, InvalidHashError):
            demo = hasher.verify(row.password_hash, "policydesk-demo")
        if demo:
            bind.execute(
                sa.update(users).where(users.c.username == row.username).values(demo_password=True)
            )


def downgrade() -> None:
    with op.batch_alter_table("cust_interactions") as batch:
        batch.alter_column("at", type_=sa.DateTime())
    with op.batch_alter_table("cust_claims") as batch:
        batch.alter_column("reported_at", type_=sa.DateTime())
    with op.batch_alter_table("accounts_users") as batch:
        batch.drop_column("demo_password")
    with op.batch_alter_table("chat_conversations") as batch:
        batch.drop_column("secret_hash")
    for table in ("rate_counters", "identity_failures", "login_attempts", "api_keys"):
        op.drop_table(table)
    op.drop_table("auth_secrets")
