"""Uploads: customers' and agents' photos and documents, linked to claims and conversations.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("claim_no", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("extension", sa.String(length=8), nullable=False),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claim_no"], ["cust_claims.claim_no"]),
        sa.ForeignKeyConstraint(["customer_id"], ["cust_customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("claim_no", "customer_id", "conversation_id", "sha256", "created_at"):
        op.create_index(op.f(f"ix_uploads_{column}"), "uploads", [column], unique=False)


def downgrade() -> None:
    op.drop_table("uploads")
