"""Settings from the environment (prefix ``POLICYDESK_``), with embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything a deployment may change. Defaults run embedded, offline, on one machine."""

    model_config = SettingsConfigDict(env_prefix="POLICYDESK_", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT / "var", description="SQLite catalog and Chroma index"
    )
    embedding_model: Path = Field(
        default=PROJECT_ROOT / "models" / "multilingual-e5-small",
        description="a sentence-transformers model directory; independent of data_dir",
    )
    training_cache: Path | None = Field(
        default=PROJECT_ROOT / "models" / "cache",
        description="what training and ingest reuse across runs and processes: the vectors of "
        "training texts and knowledge passages (never of live customer messages) and the "
        "general-domain polarity stage; safe to delete; empty: no cache",
    )
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/policydesk.db"
    )
    db_pool_size: int = Field(
        default=5,
        ge=1,
        le=100,
        description="PostgreSQL: connections each process (API worker, console, command) keeps "
        "open; not used for SQLite",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=200,
        description="PostgreSQL: extra connections a process may open under load beyond "
        "db_pool_size (closed when returned); a process never holds more than their sum, so the "
        "server's max_connections must exceed processes x (db_pool_size + db_max_overflow)",
    )
    db_pool_recycle: int = Field(
        default=1800,
        ge=30,
        description="PostgreSQL: seconds after which a pooled connection is replaced (keep below "
        "proxies' idle timeouts); every pooled connection is also pinged before use",
    )
    db_pool_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="PostgreSQL: seconds a request waits for a free pooled connection",
    )
    chroma_url: str | None = Field(
        default=None,
        description="http(s)://host:port of a Chroma server; default a local directory",
    )
    chroma_database: str = Field(
        default="default_database",
        min_length=3,
        max_length=63,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]$",
        description="Chroma server: the database (in the default tenant) that holds the index; "
        "created when missing, so several deployments or test runs can share one server "
        "without seeing each other's collections; not used for a local directory",
    )
    terms_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "terms", description="user dictionary and synonym map"
    )
    chunk_chars: int = Field(default=360, ge=80, le=2000)
    chunk_overlap: int = Field(default=80, ge=0, le=500)
    candidates: int = Field(default=50, ge=5, le=500, description="per-retriever candidates fused")
    case_weight: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="authority prior: a precedent case's fused score is multiplied by this",
    )
    max_query_chars: int = Field(default=2000, ge=10)
    sentiment_data: Path = Field(
        default=PROJECT_ROOT / "data" / "sentiment",
        description="labelled utterances (train.jsonl, dev.jsonl) and cue rules (cues.yaml)",
    )
    sentiment_extra_corpora: list[Path] = Field(
        default=[
            PROJECT_ROOT.parent
            / "shared"
            / "data"
            / "conversation_sentiment"
            / "sentiment_XS_30k.txt"
        ],
        description="polarity corpora a studio retraining uses, as `make setup` does (skipped "
        "when absent)",
    )
    sentiment_model: Path = Field(
        default=PROJECT_ROOT / "models" / "sentiment",
        description="the trained caller-emotion artefact; independent of data_dir",
    )
    ranker_model: Path = Field(
        default=PROJECT_ROOT / "models" / "ranker",
        description="the learned card ranker (trained at setup; independent of data_dir)",
    )
    guard_model: Path = Field(
        default=PROJECT_ROOT / "models" / "guard",
        description="the compliance guard's learned sentence judge (trained at setup); the guard "
        "checks the rules alone until it exists",
    )
    guard_data: Path = Field(
        default=PROJECT_ROOT / "data" / "compliance",
        description="labelled agent replies the judge is trained on (docs/compliance_labelling.md)",
    )
    topics_file: Path = Field(
        default=PROJECT_ROOT / "data" / "terms" / "topics.yaml",
        description="what a conversation is about: the topic facets (trainer-editable)",
    )
    compliance_rules: Path = Field(
        default=PROJECT_ROOT / "prompts" / "compliance_rules.yaml",
        description="red-line rules for agent text (trainer-editable)",
    )
    authority_file: Path = Field(
        default=PROJECT_ROOT / "data" / "quality" / "authority.yaml",
        description="tiered authority: what each agent level may grant (supervisor-editable)",
    )
    intents_file: Path = Field(
        default=PROJECT_ROOT / "data" / "assist" / "intents.yaml",
        description="caller needs and their reply templates (trainer-editable)",
    )
    centre_timezone: str = Field(
        default="Asia/Shanghai",
        description="the centre's time zone (IANA name): a contact's day on the dashboard",
    )
    scorecard: Path = Field(
        default=PROJECT_ROOT / "data" / "quality" / "scorecard.yaml",
        description="the QA scorecard every finished contact is scored on (trainer-editable)",
    )
    wrapup_rules: Path = Field(
        default=PROJECT_ROOT / "data" / "assist" / "wrapup.yaml",
        description="the facts a call summary states: events, requests, commitments, next "
        "steps (trainer-editable)",
    )
    scripts_file: Path = Field(
        default=PROJECT_ROOT / "data" / "scripts" / "soothing.jsonl",
        description="soothing and de-escalation scripts",
    )

    demo_calls: Path = Field(
        default=PROJECT_ROOT / "data" / "demo" / "calls",
        description="recorded demo calls the console can replay",
    )
    chat_answers: Path = Field(
        default=PROJECT_ROOT / "data" / "chatbot" / "answers.yaml",
        description="what the self-service chatbot says (trainer-editable)",
    )
    chat_flows: Path = Field(
        default=PROJECT_ROOT / "data" / "chatbot" / "flows.yaml",
        description="the guided self-service flows (一键报案…): triggers, questions, checks",
    )
    chat_fault_rules: Path = Field(
        default=PROJECT_ROOT / "data" / "chatbot" / "fault_rules.yaml",
        description="辅助定责: the simple-accident rules and what makes a case not simple",
    )
    routing_rules: Path = Field(
        default=PROJECT_ROOT / "data" / "chatbot" / "routing_rules.yaml",
        description="chatbot intents and handoff triggers (trainer-editable)",
    )
    chat_unknown_intent: Path = Field(
        default=PROJECT_ROOT / "data" / "chatbot" / "unknown_intent.yaml",
        description="how sure retrieval must be to answer a message with no known topic",
    )
    routing_model: Path = Field(
        default=PROJECT_ROOT / "models" / "routing",
        description="the learned handoff detector (trained at setup; independent of data_dir)",
    )
    chat_rate_limit: int = Field(
        default=30, ge=1, le=1000, description="messages per minute per conversation"
    )
    chat_min_confidence: float = Field(
        default=0.35, ge=0, le=1, description="below this retrieval confidence a human answers"
    )
    auth_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="key that signs agents' access tokens (at least 32 characters); default: a "
        "random key the migrations stored in the database, shared by every worker",
    )
    token_minutes: int = Field(
        default=15, ge=1, le=240, description="how long an agent's access token is valid"
    )
    api_sessions_per_minute: int = Field(
        default=20, ge=1, le=10_000, description="new chat sessions per minute per client"
    )
    api_messages_per_minute: int = Field(
        default=120,
        ge=1,
        le=100_000,
        description="customer messages per minute per client (all its sessions together)",
    )
    api_logins_per_minute: int = Field(
        default=10, ge=1, le=1000, description="token requests per minute per client"
    )
    api_body_timeout: float = Field(
        default=10.0, gt=0, le=300, description="seconds a client may take to send a request body"
    )
    encoder_batch_wait_ms: float = Field(
        default=3.0,
        ge=0,
        le=100,
        description="milliseconds the encoder waits for concurrent requests to share a forward "
        "pass; 0: no batching thread (every caller runs its own pass)",
    )
    encoder_max_batch: int = Field(
        default=32, ge=1, le=1024, description="texts in one collected encoder batch at most"
    )
    encoder_queue_limit: int = Field(
        default=64,
        ge=1,
        le=100_000,
        description="requests waiting for the encoder at most; one more is refused (API: 503)",
    )
    encoder_retry_after: int = Field(
        default=1,
        ge=1,
        le=3600,
        description="seconds a request refused for overload is told to wait (Retry-After)",
    )
    retention_chat_days: int = Field(
        default=365, ge=1, description="days chat transcripts, their handoffs and reviews are kept"
    )
    retention_call_days: int = Field(
        default=1095, ge=1, description="days call summaries and call transcripts are kept"
    )
    retention_audit_days: int = Field(
        default=1825, ge=1, description="days audit-log entries are kept"
    )
    retention_security_days: int = Field(
        default=90,
        ge=1,
        description="days login attempts, identity-check failures and rate counters are kept",
    )
    jobs_mode: Literal["inline", "queue"] | None = Field(
        default=None,
        description="where background jobs (evaluations, retraining) run: inline, in a thread "
        "of the process that submits them; queue, in `policydesk jobs worker` processes; "
        "default: inline on SQLite, queue on any other database",
    )
    jobs_stale_seconds: int = Field(
        default=120,
        ge=10,
        le=86_400,
        description="a running job whose worker sent no heartbeat for this long is re-queued",
    )
    jobs_max_attempts: int = Field(
        default=3, ge=1, le=20, description="a job started this many times is failed, not re-queued"
    )
    llm_base_url: str | None = Field(
        default=None,
        description="an OpenAI-compatible endpoint (e.g. http://llm.internal/v1); none: templates",
    )
    llm_model: str = Field(default="qwen2.5-7b-instruct", description="model name at the endpoint")
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=8.0, gt=0, le=120, description="seconds per LLM call")
    llm_prompts: Path = Field(
        default=PROJECT_ROOT / "prompts" / "llm_prompts.yaml",
        description="system and user prompts for the optional LLM (trainer-editable)",
    )
    # ----- member privileges (customers/privileges.py) -----
    privileges_file: Path = Field(
        default=PROJECT_ROOT / "data" / "members" / "privileges.yaml",
        description="member privileges per tier with yearly quotas (supervisor-editable)",
    )

    # ----- uploads (customers/uploads.py) ---------------------------------------------------
    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=200 * 1024 * 1024,
        description="largest photo or document a customer or an agent may upload, in bytes",
    )
    upload_max_pixels: int = Field(
        default=40_000_000,
        ge=10_000,
        le=400_000_000,
        description="largest image (width x height) accepted; more is refused as a possible "
        "decompression bomb",
    )
    upload_kinds: list[Literal["photo", "document"]] = Field(
        default=["photo", "document"],
        min_length=1,
        description="what may be uploaded: photo (JPEG, PNG, WebP, re-encoded), document (PDF)",
    )

    # ----- self-service claim records (customers/selfservice.py) -----
    selfservice_slots: Path = Field(
        default=PROJECT_ROOT / "data" / "selfservice" / "slots.yaml",
        description="appointment opening hours, slot length and capacity per kind (editable)",
    )

    # ----- outreach (车主秘书: outreach/) -----
    outreach_rules: Path = Field(
        default=PROJECT_ROOT / "data" / "outreach" / "rules.yaml",
        description="reminder rules, templates, quiet hours, weekly cap (trainer-editable)",
    )
    outreach_weather_feed: str | None = Field(
        default=str(PROJECT_ROOT / "data" / "demo" / "feeds" / "weather.json"),
        description="weather warnings: a JSON/JSONL file or an http(s) URL; empty: none",
    )
    outreach_violation_feed: str | None = Field(
        default=str(PROJECT_ROOT / "data" / "demo" / "feeds" / "violations.jsonl"),
        description="traffic violations: a JSON/JSONL file or an http(s) URL; empty: none",
    )
    sms_webhook_url: str | None = Field(
        default=None, description="the SMS gateway's webhook; none: SMS messages stay queued"
    )
    wechat_webhook_url: str | None = Field(
        default=None,
        description="the WeChat template-message relay's webhook; none: messages stay queued",
    )
    outreach_webhook_token: SecretStr | None = Field(
        default=None, description="a bearer token sent to both webhooks"
    )
    outreach_max_attempts: int = Field(
        default=5, ge=1, le=20, description="attempts before an outbox message is failed"
    )
    outreach_retry_seconds: int = Field(
        default=60, ge=1, le=86_400, description="first retry delay; doubles with each attempt"
    )
    outreach_timeout: float = Field(
        default=5.0, gt=0, le=60, description="seconds per webhook call or feed URL read"
    )

    @model_validator(mode="after")
    def _no_retired_settings(self) -> Settings:
        if os.environ.get("POLICYDESK_API_AGENT_TOKEN"):
            raise ValueError(
                "POLICYDESK_API_AGENT_TOKEN is retired: agents log in with their own account "
                "(POST /v1/auth/token) and integrations use API keys (`policydesk apikey create`)"
            )
        return self

    @field_validator("training_cache", mode="before")
    @classmethod
    def _empty_means_no_cache(cls, value: object) -> object:
        # POLICYDESK_TRAINING_CACHE= (empty) turns the cache off
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "outreach_weather_feed",
        "outreach_violation_feed",
        "sms_webhook_url",
        "wechat_webhook_url",
        mode="before",
    )
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        # POLICYDESK_SMS_WEBHOOK_URL= (empty) means no SMS channel; an empty feed, no feed
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("centre_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Asia/Shanghai"
            ) from None
        return value

    @property
    def centre_zone(self) -> ZoneInfo:
        """The centre's time zone (``centre_timezone``)."""
        return ZoneInfo(self.centre_timezone)

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'policydesk.db'}"

    @property
    def resolved_jobs_mode(self) -> Literal["inline", "queue"]:
        """``jobs_mode``, or its default for the database: inline on SQLite, queue otherwise."""
        if self.jobs_mode is not None:
            return self.jobs_mode
        return "inline" if self.sqlalchemy_url().startswith("sqlite") else "queue"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def uploads_dir(self) -> Path:
        """Uploaded photos and documents, by content hash (``customers.uploads``)."""
        return self.data_dir / "uploads"
