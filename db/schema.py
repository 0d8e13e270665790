"""The one database schema: every table PolicyDesk stores, on one ``metadata``.

Stores import their tables from here; Alembic migrations (``db/migrations``) create and change
them, and ``policydesk db upgrade`` applies those. No store creates a table itself.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from core.sql import UtcDateTime

metadata = MetaData()

# ----- knowledge (knowledge/catalog.py) ----------------------------------------

passages_table = Table(
    "kb_passages",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(20), nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
)

chunks_table = Table(
    "kb_chunks",
    metadata,
    Column("id", String(220), primary_key=True),
    Column("passage_id", String(200), ForeignKey("kb_passages.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("text", Text, nullable=False),
)

state_table = Table(
    "kb_index_state",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# ----- customers (customers/store.py) ------------------------------------------

customers = Table(
    "cust_customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(32), nullable=False),
    Column("gender", String(1), nullable=False),
    Column("phone", String(20), nullable=False, index=True),
    Column("id_number", String(18), nullable=False),
    Column("city", String(32), nullable=False),
    Column("tier", String(8), nullable=False),
)

vehicles = Table(
    "cust_vehicles",
    metadata,
    Column("plate", String(16), primary_key=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), index=True),
    Column("model", String(64), nullable=False),
    Column("energy", String(8), nullable=False),
)

policies = Table(
    "cust_policies",
    metadata,
    Column("policy_no", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), index=True),
    Column("plate", String(16), nullable=False),
    Column("coverages", JSON, nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("premium", Float, nullable=False),
)

claims = Table(
    "cust_claims",
    metadata,
    Column("claim_no", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), index=True),
    Column("policy_no", String(32), nullable=False),
    Column("plate", String(16), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("description", Text, nullable=False),
    Column("stage", String(8), nullable=False),
    Column("amount", Float),
    Column("adjuster", String(32), nullable=False, default=""),
    Column("timeline", JSON, nullable=False),
)

interactions = Table(
    "cust_interactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("disposition", String(32), nullable=False),
    Column("agent", String(32), nullable=False, default=""),
)

# ----- accounts (accounts/store.py) -------------------------------------------

users_table = Table(
    "accounts_users",
    metadata,
    Column("username", String(32), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
    Column("demo_password", Boolean, nullable=False, server_default=false()),
)

# ----- audit (audit/log.py) ------------------------------------------------

audit_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False, index=True),
    Column("action", String(40), nullable=False, index=True),
    Column("target", String(200), nullable=False, index=True),
    Column("detail", Text, nullable=False),
)

# ----- studio (studio/repository.py) ----------------------------------------

items_table = Table(
    "kb_items",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(20), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("current_version", Integer, nullable=False),
    Column("published_version", Integer),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, index=True),
    Column("review_note", Text, nullable=False),
)

versions_table = Table(
    "kb_item_versions",
    metadata,
    Column("item_id", String(200), ForeignKey("kb_items.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("author", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("content", JSON, nullable=False),
    Column("published_by", String(64)),
    Column("published_at", UtcDateTime),
)

# ----- studio (studio/golden.py) --------------------------------------------

questions_table = Table(
    "golden_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question", Text, nullable=False),
    Column("expected_ids", JSON, nullable=False),
    Column("note", Text, nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("source_id", String(64), nullable=False),
)

runs_table = Table(
    "golden_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("label", String(64), nullable=False, index=True),
    Column("ks", JSON, nullable=False),
    Column("recall", JSON, nullable=False),
    Column("mrr", Float, nullable=False),
    Column("questions", Integer, nullable=False),
    Column("misses", Integer, nullable=False),
    Column("results", JSON, nullable=False),
)

# ----- studio (studio/feedback.py) ------------------------------------------

feedback = Table(
    "kb_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("passage_id", String(200), nullable=False, index=True),
    Column("citation", String(300), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("question", Text, nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("agent", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("reviewed", Boolean, nullable=False, index=True),
)

# ----- chatbot (chatbot/sessions.py) -----------------------------------------

conversations = Table(
    "chat_conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("secret_hash", String(64)),
)

# ----- chatbot (chatbot/queue.py) --------------------------------------------

handoffs = Table(
    "chat_handoffs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("session_id", String(40), nullable=False, index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("accepted_by", String(64)),
    Column("accepted_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("resolution", Text),
    Column("payload", JSON, nullable=False),
)

# ----- chatbot (chatbot/review.py) -------------------------------------------

reviews = Table(
    "chat_routing_reviews",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("session_id", String(40), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("label_route", String(8), index=True),
    Column("labelled_by", String(64)),
    Column("labelled_at", UtcDateTime),
    Column("payload", JSON, nullable=False),
)

# ----- db (db/generation.py) ------------------------------------------------

content_generation = Table(
    "content_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

# ----- security (accounts/tokens.py, accounts/apikeys.py, accounts/throttle.py, chatbot) -------

auth_secrets = Table(
    "auth_secrets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("secret", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("scope", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("username", String(64), nullable=False, index=True),
    Column("client", String(64), nullable=False, index=True),
    Column("success", Boolean, nullable=False),
)
identity_failures = Table(
    "identity_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("client", String(64), nullable=False, index=True),
    Column("session_id", String(40), nullable=False),
)
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("count", Integer, nullable=False),
)

# ----- live calls (calls/store.py) ----------------------------------------------------------

calls_table = Table(
    "calls",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("agent", String(64), nullable=False, index=True),
    Column("customer_id", String(32)),
    Column("caller", String(32), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("handoff_id", String(40), index=True),
    Column("state", String(8), nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("ended_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
)
call_segments = Table(
    "call_segments",
    metadata,
    Column("call_id", String(64), ForeignKey("calls.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("speaker", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("assist", JSON),
)

# ----- background jobs (db/jobs.py) ---------------------------------------------------------

jobs_table = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    Column("state", String(12), nullable=False, index=True),
    Column("progress_done", Integer, nullable=False),
    Column("progress_total", Integer, nullable=False),
    Column("result", JSON),
    Column("error", Text),
    Column("requested_by", String(64), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("worker", String(160)),
    Column("heartbeat_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
)

# ----- quality (quality/store.py, accounts/authority.py) ------------------------------------

contacts_table = Table(
    "contacts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("agent", String(64), nullable=False, index=True),
    Column("team", String(32), nullable=False, index=True),
    Column("customer_id", String(32), index=True),
    Column("matter", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("handle_s", Float, nullable=False),
    Column("acw_s", Float, nullable=False),
    Column("upset", Boolean, nullable=False),
    Column("recovered", Boolean),
    Column("handoff", Boolean, nullable=False),
    Column("handoff_reason", String(64), nullable=False),
    Column("escalated", Boolean, nullable=False),
    Column("complaint", Boolean, nullable=False),
    Column("disposition", String(32), nullable=False),
    Column("resolved", Boolean, nullable=False),
    Column("repeated", Boolean, nullable=False),
    Column("qa_score", Float),
    Column("redlines", Integer, nullable=False),
    Column("nps", Integer),
    Column("csat", Integer),
    Column("payload", JSON, nullable=False),
)
# the dashboard reads a period's contacts newest first within their day
Index("ix_contacts_day_started", contacts_table.c.day, contacts_table.c.started_at)
contact_rollup = Table(
    "contact_rollup",
    metadata,
    Column("day", Date, primary_key=True),
    Column("agent", String(64), primary_key=True),
    Column("team", String(32), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("sums", JSON, nullable=False),
)
"""Per day, agent, team and kind of contact: each KPI's base count and summed amount (and each
handoff reason's count) as ``{name: [n, total]}``, kept with every contact recorded, so a
dashboard view reads a few thousand rows however many contacts the period holds."""
qa_reviews = Table(
    "qa_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", String(64), ForeignKey("contacts.id"), nullable=False, index=True),
    Column("item", String(32), nullable=False),
    Column("auto", String(8), nullable=False),
    Column("corrected", String(8), nullable=False),
    Column("by", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("note", Text, nullable=False),
)
qa_disputes = Table(
    "qa_disputes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", String(64), ForeignKey("contacts.id"), nullable=False, index=True),
    Column("item", String(32), nullable=False),
    Column("agent", String(64), nullable=False, index=True),
    Column("note", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("state", String(12), nullable=False, index=True),
    Column("decided_by", String(64)),
    Column("decided_at", UtcDateTime),
    Column("decision_note", Text),
)
coaching_cases = Table(
    "coaching_cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", String(64), ForeignKey("contacts.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("by", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("reviewed", Boolean, nullable=False, index=True),
)
staff_profiles = Table(
    "staff_profiles",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("team", String(32), nullable=False, index=True),
    Column("level", String(12), nullable=False),
)
approvals_table = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), nullable=False, index=True),
    Column("agent", String(64), nullable=False, index=True),
    Column("level", String(12), nullable=False),
    Column("action", String(32), nullable=False),
    Column("amount", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(12), nullable=False, index=True),
    Column("requested_at", UtcDateTime, nullable=False, index=True),
    Column("decided_by", String(64)),
    Column("decided_at", UtcDateTime),
    Column("note", Text),
)

# ----- uploads (customers/uploads.py) ------------------------------------------

uploads_table = Table(
    "uploads",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("claim_no", String(32), ForeignKey("cust_claims.claim_no"), index=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), index=True),
    Column("conversation_id", String(40), index=True),
    Column("kind", String(12), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("extension", String(8), nullable=False),
    Column("has_thumbnail", Boolean, nullable=False),
    Column("original_name", String(200), nullable=False),
    Column("gps_lat", Float),
    Column("gps_lon", Float),
    Column("uploaded_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)
"""A photo or document a customer or an agent uploaded: the file lives outside the database
under ``<data_dir>/uploads/<sha256[:2]>/<sha256>.<extension>``; one file serves every row of
the same content. GPS is kept (as columns, never in the file) only for a claim that needs it."""

# ----- member privileges (customers/bookings.py) --------------------------------

privilege_bookings = Table(
    "privilege_bookings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), nullable=False),
    Column("privilege", String(40), nullable=False),
    Column("tier", String(8), nullable=False),
    Column("year", Integer, nullable=False),
    Column("for_when", UtcDateTime, nullable=False),
    Column("place", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("by", String(64), nullable=False),
    Column("booked_at", UtcDateTime, nullable=False),
    Column("state", String(12), nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("cancelled_by", String(64)),
    Index("ix_privilege_bookings_customer_year", "customer_id", "year", "privilege"),
)

# ----- self-service claim records (customers/selfservice.py) ---------------------------------

selfservice_reports = Table(
    "ss_claim_reports",
    metadata,
    Column("claim_no", String(32), ForeignKey("cust_claims.claim_no"), primary_key=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), nullable=False, index=True),
    Column("accident_at", UtcDateTime, nullable=False),
    Column("place", Text, nullable=False),
    Column("what_happened", Text, nullable=False),
    Column("injuries", Boolean, nullable=False),
    Column("injury_note", Text, nullable=False),
    Column("other_party", JSON, nullable=False),
    Column("photo_ids", JSON, nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("channel", String(16), nullable=False),
    Column("conversation_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

selfservice_appointments = Table(
    "ss_appointments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), nullable=False, index=True),
    Column("claim_no", String(32), ForeignKey("cust_claims.claim_no"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("slot_start", UtcDateTime, nullable=False),
    Column("slot_end", UtcDateTime, nullable=False),
    Column("contact_phone", String(20), nullable=False),
    Column("notes", Text, nullable=False),
    Column("state", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime),
    Index("ix_ss_appointments_slot", "kind", "slot_start", "state"),
)

selfservice_withdrawals = Table(
    "ss_withdrawals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), ForeignKey("cust_customers.id"), nullable=False, index=True),
    Column("claim_no", String(32), ForeignKey("cust_claims.claim_no"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("state", String(12), nullable=False, index=True),
    Column("stage_before", String(8), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", UtcDateTime),
    Column("note", Text),
)

# ----- outreach (outreach/store.py) -------------------------------------------------------

outreach_messages = Table(
    "outreach_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), nullable=False, index=True),
    Column("channel", String(8), nullable=False),
    Column("destination", String(32), nullable=False),  # masked, never the full number
    Column("body", Text, nullable=False),
    Column("reminder_keys", JSON, nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("day", Date, nullable=False, index=True),
    Column("status", String(8), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
)
"""The outbox: one message per customer, channel and run, with its delivery state."""
outreach_reminders = Table(
    "outreach_reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), nullable=False, index=True),
    Column("key", String(160), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("day", Date, nullable=False),
    Column("message_id", Integer, ForeignKey("outreach_messages.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    # a second run of the same day (or a parallel one) cannot queue the same reminder again
    UniqueConstraint("customer_id", "key", "day", name="uq_outreach_reminders_customer_key_day"),
)
outreach_opt_outs = Table(
    "outreach_opt_outs",
    metadata,
    Column("customer_id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),  # a reminder kind, or "*" for every kind
    Column("at", UtcDateTime, nullable=False),
)
