"""Self-service claim records: the details of claims reported by the customer (一键报案), survey
and mediation appointments (在线查勘, 人伤调解预约), withdrawal requests (撤案申请).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ss_claim_reports",
        sa.Column("claim_no", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("accident_at", _WHEN, nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("injuries", sa.Boolean(), nullable=False),
        sa.Column("injury_note", sa.Text(), nullable=False),
        sa.Column("other_party", sa.JSON(), nullable=False),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["claim_no"], ["cust_claims.claim_no"]),
        sa.ForeignKeyConstraint(["customer_id"], ["cust_customers.id"]),
        sa.PrimaryKeyConstraint("claim_no"),
    )
    for column in ("customer_id", "created_at"):
        op.create_index(
            op.f(f"ix_ss_claim_reports_{column}"), "ss_claim_reports", [column], unique=False
        )
    op.create_table(
        "ss_appointments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("claim_no", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("slot_start", _WHEN, nullable=False),
        sa.Column("slot_end", _WHEN, nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("cancelled_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["claim_no"], ["cust_claims.claim_no"]),
        sa.ForeignKeyConstraint(["customer_id"], ["cust_customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("customer_id", "claim_no"):
        op.create_index(
            op.f(f"ix_ss_appointments_{column}"), "ss_appointments", [column], unique=False
        )
    op.create_index(
        "ix_ss_appointments_slot", "ss_appointments", ["kind", "slot_start", "state"], unique=False
    )
    op.create_table(
        "ss_withdrawals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("claim_no", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("stage_before", sa.String(length=8), nullable=False),
        sa.Column("requested_at", _WHEN, nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", _WHEN, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["claim_no"], ["cust_claims.claim_no"]),
        sa.ForeignKeyConstraint(["customer_id"], ["cust_customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("customer_id", "claim_no", "state"):
        op.create_index(
            op.f(f"ix_ss_withdrawals_{column}"), "ss_withdrawals", [column], unique=False
        )


def downgrade() -> None:
    for table in ("ss_withdrawals", "ss_appointments", "ss_claim_reports"):
        op.drop_table(table)
