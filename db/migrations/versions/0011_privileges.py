"""Member privileges: bookings of a tier's privileges, counted against yearly quotas.

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "privilege_bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("privilege", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("for_when", _WHEN, nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("booked_at", _WHEN, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("cancelled_at", _WHEN, nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["cust_customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_privilege_bookings_customer_year",
        "privilege_bookings",
        ["customer_id", "year", "privilege"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_privilege_bookings_customer_year", table_name="privilege_bookings")
    op.drop_table("privilege_bookings")
