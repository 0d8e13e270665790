"""Baseline: the schema as it stood before migrations (December 2026).

Every table is created only when missing, so a data directory from the earlier layout (whose
stores created their own tables on first use, some perhaps never) upgrades in place: the tables it
has are kept as they are, the missing ones are created, and the revision is recorded.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(bind: sa.Connection, table: str) -> bool:
    return not sa.inspect(bind).has_table(table)


def upgrade() -> None:
    bind = op.get_bind()
    if _missing(bind, "accounts_users"):
        op.create_table(
            "accounts_users",
            sa.Column("username", sa.String(length=32), nullable=False),
            sa.Column("display_name", sa.String(length=100), nullable=False),
            sa.Column("password_hash", sa.String(length=255), nullable=False),
            sa.Column("roles", sa.JSON(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("username"),
        )
    if _missing(bind, "audit_log"):
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=40), nullable=False),
            sa.Column("target", sa.String(length=200), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False)
        op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"], unique=False)
        op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
        op.create_index(op.f("ix_audit_log_target"), "audit_log", ["target"], unique=False)
    if _missing(bind, "chat_conversations"):
        op.create_table(
            "chat_conversations",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_chat_conversations_updated_at"),
            "chat_conversations",
            ["updated_at"],
            unique=False,
        )
    if _missing(bind, "chat_handoffs"):
        op.create_table(
            "chat_handoffs",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("session_id", sa.String(length=40), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("priority", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("accepted_by", sa.String(length=64), nullable=True),
            sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("resolution", sa.Text(), nullable=True),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_chat_handoffs_created_at"), "chat_handoffs", ["created_at"], unique=False
        )
        op.create_index(
            op.f("ix_chat_handoffs_session_id"), "chat_handoffs", ["session_id"], unique=False
        )
        op.create_index(op.f("ix_chat_handoffs_state"), "chat_handoffs", ["state"], unique=False)
    if _missing(bind, "chat_routing_reviews"):
        op.create_table(
            "chat_routing_reviews",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("session_id", sa.String(length=40), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("label_route", sa.String(length=8), nullable=True),
            sa.Column("labelled_by", sa.String(length=64), nullable=True),
            sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_chat_routing_reviews_created_at"),
            "chat_routing_reviews",
            ["created_at"],
            unique=False,
        )
        op.create_index(
            op.f("ix_chat_routing_reviews_label_route"),
            "chat_routing_reviews",
            ["label_route"],
            unique=False,
        )
        op.create_index(
            op.f("ix_chat_routing_reviews_session_id"),
            "chat_routing_reviews",
            ["session_id"],
            unique=False,
        )
    if _missing(bind, "cust_customers"):
        op.create_table(
            "cust_customers",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("name", sa.String(length=32), nullable=False),
            sa.Column("gender", sa.String(length=1), nullable=False),
            sa.Column("phone", sa.String(length=20), nullable=False),
            sa.Column("id_number", sa.String(length=18), nullable=False),
            sa.Column("city", sa.String(length=32), nullable=False),
            sa.Column("tier", sa.String(length=8), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_cust_customers_phone"), "cust_customers", ["phone"], unique=False)
    if _missing(bind, "golden_questions"):
        op.create_table(
            "golden_questions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("question", sa.Text(), nullable=False),
            sa.Column("expected_ids", sa.JSON(), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("author", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_by", sa.String(length=64), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("source_id", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if _missing(bind, "golden_runs"):
        op.create_table(
            "golden_runs",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=64), nullable=False),
            sa.Column("label", sa.String(length=64), nullable=False),
            sa.Column("ks", sa.JSON(), nullable=False),
            sa.Column("recall", sa.JSON(), nullable=False),
            sa.Column("mrr", sa.Float(), nullable=False),
            sa.Column("questions", sa.Integer(), nullable=False),
            sa.Column("misses", sa.Integer(), nullable=False),
            sa.Column("results", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_golden_runs_at"), "golden_runs", ["at"], unique=False)
        op.create_index(op.f("ix_golden_runs_label"), "golden_runs", ["label"], unique=False)
    if _missing(bind, "kb_feedback"):
        op.create_table(
            "kb_feedback",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("passage_id", sa.String(length=200), nullable=False),
            sa.Column("citation", sa.String(length=300), nullable=False),
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("question", sa.Text(), nullable=False),
            sa.Column("helpful", sa.Boolean(), nullable=False),
            sa.Column("agent", sa.String(length=64), nullable=False),
            sa.Column("channel", sa.String(length=20), nullable=False),
            sa.Column("reviewed", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_kb_feedback_at"), "kb_feedback", ["at"], unique=False)
        op.create_index(
            op.f("ix_kb_feedback_passage_id"), "kb_feedback", ["passage_id"], unique=False
        )
        op.create_index(op.f("ix_kb_feedback_reviewed"), "kb_feedback", ["reviewed"], unique=False)
    if _missing(bind, "kb_index_state"):
        op.create_table(
            "kb_index_state",
            sa.Column("key", sa.String(length=100), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if _missing(bind, "kb_items"):
        op.create_table(
            "kb_items",
            sa.Column("id", sa.String(length=200), nullable=False),
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("current_version", sa.Integer(), nullable=False),
            sa.Column("published_version", sa.Integer(), nullable=True),
            sa.Column("created_by", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("review_note", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_kb_items_kind"), "kb_items", ["kind"], unique=False)
        op.create_index(op.f("ix_kb_items_status"), "kb_items", ["status"], unique=False)
        op.create_index(op.f("ix_kb_items_updated_at"), "kb_items", ["updated_at"], unique=False)
    if _missing(bind, "kb_passages"):
        op.create_table(
            "kb_passages",
            sa.Column("id", sa.String(length=200), nullable=False),
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("content_hash", sa.String(length=64), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_kb_passages_kind"), "kb_passages", ["kind"], unique=False)
    if _missing(bind, "cust_claims"):
        op.create_table(
            "cust_claims",
            sa.Column("claim_no", sa.String(length=32), nullable=False),
            sa.Column("customer_id", sa.String(length=32), nullable=True),
            sa.Column("policy_no", sa.String(length=32), nullable=False),
            sa.Column("plate", sa.String(length=16), nullable=False),
            sa.Column("reported_at", sa.DateTime(), nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            sa.Column("stage", sa.String(length=8), nullable=False),
            sa.Column("amount", sa.Float(), nullable=True),
            sa.Column("adjuster", sa.String(length=32), nullable=False),
            sa.Column("timeline", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["cust_customers.id"],
            ),
            sa.PrimaryKeyConstraint("claim_no"),
        )
        op.create_index(
            op.f("ix_cust_claims_customer_id"), "cust_claims", ["customer_id"], unique=False
        )
    if _missing(bind, "cust_interactions"):
        op.create_table(
            "cust_interactions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("customer_id", sa.String(length=32), nullable=True),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.Column("disposition", sa.String(length=32), nullable=False),
            sa.Column("agent", sa.String(length=32), nullable=False),
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["cust_customers.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_cust_interactions_customer_id"),
            "cust_interactions",
            ["customer_id"],
            unique=False,
        )
    if _missing(bind, "cust_policies"):
        op.create_table(
            "cust_policies",
            sa.Column("policy_no", sa.String(length=32), nullable=False),
            sa.Column("customer_id", sa.String(length=32), nullable=True),
            sa.Column("plate", sa.String(length=16), nullable=False),
            sa.Column("coverages", sa.JSON(), nullable=False),
            sa.Column("start", sa.Date(), nullable=False),
            sa.Column("end", sa.Date(), nullable=False),
            sa.Column("premium", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["cust_customers.id"],
            ),
            sa.PrimaryKeyConstraint("policy_no"),
        )
        op.create_index(
            op.f("ix_cust_policies_customer_id"), "cust_policies", ["customer_id"], unique=False
        )
    if _missing(bind, "cust_vehicles"):
        op.create_table(
            "cust_vehicles",
            sa.Column("plate", sa.String(length=16), nullable=False),
            sa.Column("customer_id", sa.String(length=32), nullable=True),
            sa.Column("model", sa.String(length=64), nullable=False),
            sa.Column("energy", sa.String(length=8), nullable=False),
            sa.ForeignKeyConstraint(
                ["customer_id"],
                ["cust_customers.id"],
            ),
            sa.PrimaryKeyConstraint("plate"),
        )
        op.create_index(
            op.f("ix_cust_vehicles_customer_id"), "cust_vehicles", ["customer_id"], unique=False
        )
    if _missing(bind, "kb_chunks"):
        op.create_table(
            "kb_chunks",
            sa.Column("id", sa.String(length=220), nullable=False),
            sa.Column("passage_id", sa.String(length=200), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["passage_id"],
                ["kb_passages.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_kb_chunks_passage_id"), "kb_chunks", ["passage_id"], unique=False)
    if _missing(bind, "kb_item_versions"):
        op.create_table(
            "kb_item_versions",
            sa.Column("item_id", sa.String(length=200), nullable=False),
            sa.Column("number", sa.Integer(), nullable=False),
            sa.Column("author", sa.String(length=64), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("content", sa.JSON(), nullable=False),
            sa.Column("published_by", sa.String(length=64), nullable=True),
            sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
            sa.ForeignKeyConstraint(
                ["item_id"],
                ["kb_items.id"],
            ),
            sa.PrimaryKeyConstraint("item_id", "number"),
        )


def downgrade() -> None:
    raise NotImplementedError("the baseline cannot be downgraded")
