"""The composition root: builds every service from settings, lazily, in one place.

Two kinds of things are built here:

* **Process-lifetime parts**, built once on first use: the database engine and the stores over it,
  the encoder, the vector index, files that never change while the process runs. Tests and
  benchmarks replace them explicitly through the constructor (``Services(settings,
  embedder=fake)``); nothing is swapped afterwards.
* **Published content** (``ContentSnapshot``): everything built from what trainers publish (the
  retriever over the live index, the compliance guard, the term map, the soothing scripts, the
  caller-emotion model). A snapshot is immutable and belongs to one *generation*, a number in the
  database that every publish, ingest or kept retraining increments (``db.generation``).
  ``content()`` reads the number on each use (one primary-key read) and builds a new snapshot
  when it moved, so a publish from any process serves everywhere from the next request on. A call
  or chat already holding a snapshot keeps it until it ends.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from core.errors import IndexNotBuiltError, ModelNotReadyError, PolicyDeskError
from core.settings import Settings

T = TypeVar("T")

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import BaseChatModel
    from sqlalchemy import Engine

    from accounts.apikeys import ApiKeyStore
    from accounts.authority import AuthorityLimits
    from accounts.login import LoginService
    from accounts.models import User
    from accounts.passwords import PasswordHashing
    from accounts.staff import StaffStore
    from accounts.store import AccountStore
    from accounts.tokens import TokenIssuer
    from assist.calls import DemoCall
    from assist.facts import FactBook
    from assist.intents import IntentBook
    from assist.pipeline import AssistSession
    from assist.reveal import PersonalDataReveal
    from assist.wrapup import WrapUpService
    from audit.log import AuditLog
    from calls.approvals import ApprovalService
    from calls.desk import AgentDesk
    from calls.service import CallService
    from chatbot.flows import FlowBook
    from chatbot.learned import HandoffDetector
    from chatbot.lockout import IdentityLockout
    from chatbot.queue import HandoffQueue
    from chatbot.records import SelfServiceDesk
    from chatbot.replies import AgentReplies
    from chatbot.review import RoutingReviewLog
    from chatbot.service import ChatbotService
    from chatbot.sessions import ConversationStore
    from compliance.classifier import GuardClassifier
    from compliance.training import GuardTrainer
    from core.telemetry import Telemetry
    from customers.bookings import PrivilegeService
    from customers.privileges import PrivilegeBook
    from customers.selfservice import SelfServiceRecords
    from customers.store import CustomerStore
    from customers.uploads import UploadStore
    from db.changes import ChangeWatcher
    from db.jobs import JobQueue
    from db.ratelimit import RateCounters
    from knowledge.catalog import KnowledgeCatalog
    from knowledge.ingest import IngestService
    from outreach.service import ReminderService
    from outreach.store import OutreachStore
    from privacy.service import PrivacyService
    from prompts.guard import ComplianceGuard
    from prompts.llm import LlmPhraser
    from quality.service import QualityService
    from quality.store import ContactStore
    from retrieval.batching import BatchingEmbedder
    from retrieval.chroma_index import ChromaChunkIndex
    from retrieval.conversation_search import ConversationSearch
    from retrieval.embedder import Embedder
    from retrieval.ranker import LearnedRanker, RankerManifest
    from retrieval.retriever import HybridRetriever
    from retrieval.synonyms import TermMap
    from retrieval.text import InsuranceTokenizer
    from retrieval.topics import TopicLexicon
    from sentiment.classifier import EmotionClassifier
    from sentiment.cues import CueBook
    from sentiment.retrain import EmotionRetrainer
    from sentiment.scripts import ScriptLibrary
    from sentiment.service import SentimentTrainer
    from services.jobs import JobRunner, JobSubmitter
    from services.readiness import Readiness
    from studio.curation import DraftPreview
    from studio.feedback import FeedbackStore
    from studio.golden import EvaluationRuns, GoldenSet
    from studio.items import ItemKind
    from studio.overlays import CuratedOverlay
    from studio.repository import KnowledgeRepository
    from studio.service import StudioService


class ContentSnapshot:
    """Everything built from published content at one generation; never changes once built.

    The guard, term map and scripts are built with the snapshot; the retriever and the emotion
    model on first use, from what the snapshot fixed (the live index collection, the model
    directory), so they belong to the same generation.

    Args:
        generation: the published-content generation this was built from.
        guard: the compliance guard (shipped rules merged with the studio's).
        term_map: the colloquial → formal term map.
        scripts: the soothing scripts.
        active_collection: the live Chroma collection; None when nothing is ingested.
        emotion_dir: the caller-emotion artefact that serves.
        build_retriever: builds the retriever from (collection, term map).
        build_emotion: loads the emotion classifier from its directory.
        build_conversation: the conversation search over the retriever.
    """

    def __init__(
        self,
        generation: int,
        guard: ComplianceGuard,
        term_map: TermMap,
        scripts: ScriptLibrary,
        active_collection: str | None,
        emotion_dir: Path,
        build_retriever: Callable[[str, TermMap], HybridRetriever],
        build_emotion: Callable[[Path], EmotionClassifier],
        build_conversation: Callable[[HybridRetriever], ConversationSearch],
    ) -> None:
        self.generation = generation
        self.guard = guard
        self.term_map = term_map
        self.scripts = scripts
        self.active_collection = active_collection
        self.emotion_dir = emotion_dir
        self._build_retriever = build_retriever
        self._build_emotion = build_emotion
        self._build_conversation = build_conversation
        self._lock = threading.Lock()

    @cached_property
    def retriever(self) -> HybridRetriever:
        """The retriever over this generation's live index.

        Raises:
            IndexNotBuiltError: nothing has been ingested.
        """
        if self.active_collection is None:
            raise IndexNotBuiltError(Path("."))
        with self._lock:
            return self._build_retriever(self.active_collection, self.term_map)

    @cached_property
    def conversation(self) -> ConversationSearch:
        """Cards that follow the conversation, over this generation's retriever.

        Raises:
            IndexNotBuiltError: nothing has been ingested.
        """
        retriever = self.retriever
        with self._lock:
            return self._build_conversation(retriever)

    @cached_property
    def emotion(self) -> EmotionClassifier:
        """The caller-emotion classifier of this generation.

        Raises:
            ModelNotReadyError: no artefact trained yet.
            PolicyDeskError: the artefact was trained on another encoder.
        """
        with self._lock:
            return self._build_emotion(self.emotion_dir)


class Services:
    """Lazily built, shared services. Nothing heavy happens until a service is first used.

    Args:
        settings: the deployment's settings.
        embedder: an encoder to use instead of the configured model (tests, benchmarks).
        passwords: the password-hashing policy (tests use a fast one).
        chat_model: an LLM to use instead of the configured endpoint (tests use fakes).
        handoff_detector: a handoff detector instead of the trained artefact.
        telemetry: the metrics to record into instead of a fresh set (tests that build an
            encoder around the one they inject).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        passwords: PasswordHashing | None = None,
        chat_model: BaseChatModel | None = None,
        handoff_detector: HandoffDetector | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self._telemetry = telemetry
        self._embedder = embedder
        self._passwords = passwords
        self._chat_model = chat_model
        self._detector = handoff_detector
        self._lock = threading.Lock()
        self._snapshot: ContentSnapshot | None = None
        self._schema_checked = False
        self._batcher: BatchingEmbedder | None = None
        self._edited: dict[Path, tuple[int, object]] = {}

    # ----- process-lifetime parts -------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        from db.engine import PoolBudget, make_engine

        url = self.settings.sqlalchemy_url()
        if url.startswith("sqlite:///"):
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        budget = PoolBudget(
            size=self.settings.db_pool_size,
            max_overflow=self.settings.db_max_overflow,
            recycle_seconds=self.settings.db_pool_recycle,
            timeout_seconds=self.settings.db_pool_timeout,
        )
        return make_engine(url, budget)

    @cached_property
    def changes(self) -> ChangeWatcher:
        """This process's notices of other processes' writes (PostgreSQL LISTEN/NOTIFY; on
        SQLite nothing listens and every read goes to the database)."""
        from db.changes import ChangeWatcher

        return ChangeWatcher(self.engine)

    def has_database(self) -> bool:
        """False for a data directory whose SQLite file does not exist yet (nothing is created
        by asking)."""
        url = self.settings.sqlalchemy_url()
        return not url.startswith("sqlite:///") or self._sqlite_file().exists()

    def _sqlite_file(self) -> Path:
        return Path(self.settings.sqlalchemy_url().removeprefix("sqlite:///"))

    def upgrade_database(self) -> tuple[str | None, str]:
        """Apply the schema migrations the database lacks (``policydesk db upgrade``).

        Returns:
            (the revision before, the revision after).
        """
        from db.migrate import upgrade

        return upgrade(self.engine)

    def require_database(self) -> None:
        """Refuse to serve on a database that is missing or behind the code.

        Raises:
            DatabaseNotReadyError: says to run ``policydesk db upgrade``.
        """
        from db.migrate import require_current

        if not self._schema_checked:  # once current, a running process's schema stays current
            require_current(self.engine)
            self._schema_checked = True

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        from retrieval.batching import BatchingEmbedder
        from retrieval.embedder import SentenceTransformerEmbedder

        settings = self.settings
        model = SentenceTransformerEmbedder(
            settings.embedding_model,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
            on_forward=self.telemetry.encoder_forward,
        )
        if settings.encoder_batch_wait_ms <= 0:
            return model
        self._batcher = BatchingEmbedder(
            model,
            max_wait=settings.encoder_batch_wait_ms / 1000,
            max_batch=settings.encoder_max_batch,
            max_queue=settings.encoder_queue_limit,
            retry_after=settings.encoder_retry_after,
            telemetry=self.telemetry,
        )
        return self._batcher

    @cached_property
    def telemetry(self) -> Telemetry:
        """The process's metrics (``GET /metrics`` in the API)."""
        if self._telemetry is not None:
            return self._telemetry
        from core.telemetry import Telemetry

        return Telemetry()

    def close(self) -> None:
        """Stop the background threads this root started (the encoder's batching thread, the
        change listener)."""
        if self._batcher is not None:
            self._batcher.close()
        if "changes" in self.__dict__:
            self.changes.stop()

    @cached_property
    def training_embedder(self) -> Embedder:
        """The encoder for training and ingest: through the persistent embedding cache in
        ``settings.training_cache``, so a text is embedded once across runs and processes.

        Never used for live customer messages (privacy): those go to ``embedder``.
        """
        folder = self.settings.training_cache
        if folder is None:
            return self.embedder
        from ml.embedding_cache import CachedEmbedder, EmbeddingCache

        return CachedEmbedder(self.embedder, EmbeddingCache.within(folder))

    @cached_property
    def vector_index(self) -> ChromaChunkIndex:
        from retrieval.chroma_index import ChromaChunkIndex

        return ChromaChunkIndex.open(
            self.settings.chroma_path,
            url=self.settings.chroma_url,
            embedder=self.embedder,
            database=self.settings.chroma_database,
        )

    @cached_property
    def tokenizer(self) -> InsuranceTokenizer:
        from retrieval.text import InsuranceTokenizer

        return InsuranceTokenizer(self.settings.terms_dir / "user_dict.txt")

    @cached_property
    def catalog(self) -> KnowledgeCatalog:
        from knowledge.catalog import KnowledgeCatalog

        return KnowledgeCatalog(self.engine, self.changes)

    @cached_property
    def ingest(self) -> IngestService:
        from knowledge.ingest import IngestService

        return IngestService(
            self.catalog,
            self.vector_index,
            self.training_embedder,  # knowledge passages, never customer messages
            chunk_chars=self.settings.chunk_chars,
            chunk_overlap=self.settings.chunk_overlap,
        )

    @cached_property
    def cue_book(self) -> CueBook:
        from sentiment.cues import CueBook

        return CueBook.load(self.settings.sentiment_data / "cues.yaml")

    @cached_property
    def intents(self) -> IntentBook:
        from assist.intents import IntentBook

        return IntentBook.load(self.settings.intents_file)

    @cached_property
    def fact_book(self) -> FactBook:
        """The wrap-up rules: the facts a call summary states."""
        from assist.facts import FactBook

        return FactBook.load(self.settings.wrapup_rules)

    @cached_property
    def customers(self) -> CustomerStore:
        from customers.store import CustomerStore

        return CustomerStore(self.engine, self.privileges)

    @cached_property
    def accounts(self) -> AccountStore:
        from accounts.store import AccountStore

        return AccountStore(self.engine, self._passwords)

    @cached_property
    def staff(self) -> StaffStore:
        """Agents' teams and authority levels."""
        from accounts.staff import StaffStore

        return StaffStore(self.engine)

    def _edited_file(self, path: Path, load: Callable[[Path], T]) -> T:
        """``load(path)``, read again only when the file changed since (a supervisor edits
        these rule files while the console runs)."""
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1  # load names the missing file
        with self._lock:
            kept = self._edited.get(path)
            if kept is None or kept[0] != stamp:
                kept = (stamp, load(path))
                self._edited[path] = kept
            return kept[1]  # type: ignore[return-value]

    def authority(self) -> AuthorityLimits:
        """The tiered-authority rules, read again when a supervisor has changed the file.

        Raises:
            ConfigurationError: the file is missing or invalid (names the file and the value).
        """
        from accounts.authority import load_authority

        return self._edited_file(self.settings.authority_file, load_authority)

    @cached_property
    def approvals(self) -> ApprovalService:
        """Agents' approval requests beyond their level and supervisors' decisions."""
        from calls.approvals import ApprovalService, ApprovalStore
        from calls.store import CallStore

        return ApprovalService(
            ApprovalStore(self.engine),
            CallStore(self.engine, self.changes),
            self.staff.level,
            self.authority,
            self.audit,
        )

    @cached_property
    def reveal(self) -> PersonalDataReveal:
        """A supervisor's audited reveal of a customer's full phone or ID number."""
        from assist.reveal import PersonalDataReveal

        return PersonalDataReveal(self.customers, self.audit)

    @cached_property
    def calls(self) -> CallService:
        """Live calls fed by the telephony side (segments in, assist views out)."""
        from calls.service import CallService
        from calls.store import CallStore

        return CallService(
            CallStore(self.engine, self.changes),
            self.customers,
            self.accounts,
            lambda customer_id: self.assist_session(customer_id),
            self.wrap_up,
            self.audit,
            level_of=self.staff.level,
            authority=self.authority,
            on_ended=lambda call, suggested: self.quality.call_ended(call, suggested.value),
            privileges=self.privileges,
        )

    def desk(self) -> AgentDesk:
        """The agent's actions on contacts (the console), on the current content's guard."""
        from calls.desk import AgentDesk
        from calls.store import CallStore

        return AgentDesk(
            self.calls,
            CallStore(self.engine, self.changes),
            self.handoffs,
            self.agent_replies(),
            self.guard,
            self.wrap_up(),
            self.audit,
            level_of=self.staff.level,
            authority=self.authority,
            on_saved=self.quality.wrap_up_saved,
            tier_of=self.customers.tier,
            privileges=self.privileges,
        )

    @cached_property
    def contacts(self) -> ContactStore:
        """Finished contacts and their daily roll-up (days in the centre's time zone)."""
        from quality.store import ContactStore

        return ContactStore(self.engine, zone=self.settings.centre_zone)

    @cached_property
    def quality(self) -> QualityService:
        """Every finished contact recorded and scored; the KPIs; reviews, disputes, coaching."""
        from quality.scorecard import load_scorecard
        from quality.service import QualityService

        return QualityService(
            self.contacts,
            load_scorecard(self.settings.scorecard),
            lambda agent: self.staff.profile(agent).team,
            self.audit,
        )

    @cached_property
    def privacy(self) -> PrivacyService:
        """Customers' export and erasure requests, and the retention purge."""
        from privacy.service import PrivacyService, RetentionPolicy

        settings = self.settings
        retention = RetentionPolicy(
            chat_days=settings.retention_chat_days,
            call_days=settings.retention_call_days,
            audit_days=settings.retention_audit_days,
            security_days=settings.retention_security_days,
        )
        return PrivacyService(self.engine, self.audit, retention, uploads=self.uploads)

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        """Integrations' API keys (hashed, scoped, revocable)."""
        from accounts.apikeys import ApiKeyStore

        return ApiKeyStore(self.engine)

    @cached_property
    def signing_secret(self) -> bytes:
        """The installation's secret: signs agents' tokens and keys the identity lockout."""
        if self.settings.auth_secret is not None:
            return self.settings.auth_secret.get_secret_value().encode("utf-8")
        from accounts.tokens import SigningKeys

        return SigningKeys(self.engine).secret()

    @cached_property
    def token_issuer(self) -> TokenIssuer:
        """Agents' short-lived access tokens for the HTTP API."""
        from datetime import timedelta

        from accounts.tokens import TokenIssuer

        return TokenIssuer(self.signing_secret, timedelta(minutes=self.settings.token_minutes))

    @cached_property
    def login(self) -> LoginService:
        """Throttled, audited logins (console and API)."""
        from accounts.login import LoginAttempts, LoginService

        return LoginService(self.accounts, LoginAttempts(self.engine), self.audit)

    @cached_property
    def rate_counters(self) -> RateCounters:
        """Per-client request counters shared by every worker."""
        from db.ratelimit import RateCounters

        return RateCounters(self.engine)

    @cached_property
    def jobs(self) -> JobQueue:
        """Background jobs (evaluations, retraining), shared by every process."""
        from datetime import timedelta

        from db.jobs import JobQueue

        return JobQueue(
            self.engine,
            stale_after=timedelta(seconds=self.settings.jobs_stale_seconds),
            max_attempts=self.settings.jobs_max_attempts,
        )

    def job_runner(self, worker: str | None = None) -> JobRunner:
        """Runs claimed jobs as ``worker`` (default: this process, host:pid)."""
        from services.jobs import JobRunner, worker_name

        return JobRunner(
            self,
            self.jobs,
            worker or worker_name(),
            heartbeat_every=self.settings.jobs_stale_seconds / 4,
        )

    @cached_property
    def job_submitter(self) -> JobSubmitter:
        """Queues jobs; inline mode (the SQLite default) also runs them in a thread here, queue
        mode leaves them to ``policydesk jobs worker``."""
        from services.jobs import JobSubmitter, worker_name

        inline = self.settings.resolved_jobs_mode == "inline"
        return JobSubmitter(self.jobs, self.job_runner(worker_name("inline")) if inline else None)

    @cached_property
    def identity_lockout(self) -> IdentityLockout:
        """Failed identity checks per policy/claim number and per client."""
        from chatbot.lockout import IdentityLockout

        return IdentityLockout(self.engine, self.signing_secret)

    @cached_property
    def audit(self) -> AuditLog:
        from audit.log import AuditLog

        return AuditLog(self.engine)

    @cached_property
    def repository(self) -> KnowledgeRepository:
        from studio.repository import KnowledgeRepository

        return KnowledgeRepository(self.engine, self.changes)

    @cached_property
    def studio(self) -> StudioService:
        """Curation of the knowledge base: versions, review, publishing into the live index."""
        from studio.service import StudioService

        return StudioService(
            self.repository,
            self.audit,
            self.ingest,
            self.accounts,
            situations=self.cue_book.situations,
        )

    @cached_property
    def feedback(self) -> FeedbackStore:
        from studio.feedback import FeedbackStore

        return FeedbackStore(self.engine)

    @cached_property
    def golden(self) -> GoldenSet:
        from studio.golden import GoldenSet

        return GoldenSet(self.engine)

    @cached_property
    def eval_runs(self) -> EvaluationRuns:
        from studio.golden import EvaluationRuns

        return EvaluationRuns(self.engine)

    @cached_property
    def conversations(self) -> ConversationStore:
        from chatbot.sessions import ConversationStore

        return ConversationStore(self.engine)

    @cached_property
    def handoffs(self) -> HandoffQueue:
        from chatbot.queue import HandoffQueue

        return HandoffQueue(self.engine, self.changes, on_accept=self.telemetry.handoff_accepted)

    @cached_property
    def routing_reviews(self) -> RoutingReviewLog:
        """Routing decisions the learned detector made alone, for review (``chatbot.review``)."""
        from chatbot.review import RoutingReviewLog

        return RoutingReviewLog(self.engine)

    @cached_property
    def handoff_detector(self) -> HandoffDetector:
        """The learned handoff detector on the shared encoder.

        Raises:
            ModelNotReadyError: not trained yet.
            ConfigurationError: trained on another encoder.
        """
        if self._detector is not None:
            return self._detector
        from chatbot.learned import HandoffDetector

        detector = HandoffDetector.load(self.settings.routing_model)
        detector.check_encoder(self.embedder.fingerprint)
        return detector

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The optional LLM (an OpenAI-compatible endpoint), or None: templates only."""
        if self._chat_model is not None:
            return self._chat_model
        from prompts.llm import build_chat_model

        key = self.settings.llm_api_key
        return build_chat_model(
            self.settings.llm_base_url,
            self.settings.llm_model,
            key.get_secret_value() if key else None,
            self.settings.llm_timeout,
        )

    @cached_property
    def sentiment_trainer(self) -> SentimentTrainer:
        from sentiment.service import SentimentTrainer

        return SentimentTrainer(
            self.settings.sentiment_data,
            self.settings.sentiment_model,
            self.training_embedder,
            self.cue_book,
            self.settings.training_cache,
        )

    def guard_trainer(self, data: Path | None = None, out: Path | None = None) -> GuardTrainer:
        """Trains the guard's judge from the labelled reply files in ``data`` (default: the
        configured folder) into ``out`` (default: the configured artefact folder)."""
        from compliance.training import GuardTrainer

        folder = data or self.settings.guard_data
        return GuardTrainer(
            sorted(folder.glob("*.jsonl")),
            self.settings.compliance_rules,
            out or self.settings.guard_model,
            self.training_embedder,
        )

    @cached_property
    def guard_judge(self) -> GuardClassifier | None:
        """The guard's learned sentence judge; None (the rules alone, logged with the command that
        rebuilds it) until it is trained, in this format, for this encoder."""
        from compliance.classifier import GuardClassifier
        from core.errors import PolicyDeskError

        try:
            return GuardClassifier.load(self.settings.guard_model, self.embedder)
        except PolicyDeskError as exc:
            log.warning("compliance guard without its learned judge (%s): rules only", exc)
            return None

    # ----- published content ------------------------------------------------------------------

    def content(self) -> ContentSnapshot:
        """The published content of the current generation, rebuilt when it moved.

        Raises:
            ConfigurationError: a shipped rule, term or script file is invalid.
            DatabaseNotReadyError: the database exists but is not at the code's schema.
        """
        generation = self._generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = self._build_snapshot(generation)
            return self._snapshot

    def _generation(self) -> int:
        if not self.has_database():
            return 0
        from db.changes import Change

        # asked on every request: on PostgreSQL the number is read again only after a notice
        return self.changes.fresh(Change.CONTENT, "generation", self._read_generation)

    def _read_generation(self) -> int:
        from db.generation import read_generation

        self.require_database()
        with self.engine.connect() as conn:
            return read_generation(conn)

    def _build_snapshot(self, generation: int) -> ContentSnapshot:
        from knowledge.catalog import ACTIVE_COLLECTION
        from prompts.guard import ComplianceGuard
        from retrieval.synonyms import TermMap
        from sentiment.scripts import ScriptLibrary
        from studio.items import ItemKind
        from studio.overlays import merged_guard, merged_scripts, merged_term_map

        settings = self.settings
        return ContentSnapshot(
            generation=generation,
            guard=merged_guard(
                ComplianceGuard.load(settings.compliance_rules).with_judge(self.guard_judge),
                self._curated(ItemKind.COMPLIANCE_RULE),
            ),
            term_map=merged_term_map(
                TermMap.load(settings.terms_dir / "synonyms.tsv"),
                self._curated(ItemKind.TERM_MAP),
            ),
            scripts=merged_scripts(
                ScriptLibrary.load(settings.scripts_file, self.cue_book.situations),
                self._curated(ItemKind.SCRIPT),
            ),
            active_collection=(
                self.catalog.state(ACTIVE_COLLECTION) if self.has_database() else None
            ),
            emotion_dir=self.emotion_model_dir,
            build_retriever=self._retriever_for,
            build_emotion=self._emotion_for,
            build_conversation=self._conversation_for,
        )

    def _curated(self, kind: ItemKind) -> CuratedOverlay:
        """The studio's published and retired items of a kind; none without a database (the
        shipped files serve alone)."""
        from studio.overlays import CuratedOverlay, read_overlay

        if not self.has_database():
            return CuratedOverlay()
        return read_overlay(self.repository, kind)

    def _retriever_for(self, collection: str, term_map: TermMap) -> HybridRetriever:
        from retrieval.retriever import HybridRetriever

        return HybridRetriever(
            self.catalog.passages(),
            self.vector_index,
            collection,
            self.embedder,
            self.tokenizer,
            term_map,
            candidates=self.settings.candidates,
            case_weight=self.settings.case_weight,
            max_query_chars=self.settings.max_query_chars,
        )

    def _conversation_for(self, retriever: HybridRetriever) -> ConversationSearch:
        from retrieval.conversation_search import ConversationSearch

        return ConversationSearch(retriever, self.topic_lexicon, self.card_ranker)

    @cached_property
    def topic_lexicon(self) -> TopicLexicon:
        """What a conversation is about: the topic facets.

        Raises:
            ConfigurationError: a missing or invalid topics file.
        """
        from retrieval.topics import TopicLexicon

        return TopicLexicon.load(self.settings.topics_file)

    @cached_property
    def card_ranker(self) -> LearnedRanker | None:
        """The learned card ranker; None (cards in fused order, logged) until it is trained for
        the encoder that serves (``make setup`` trains it).

        Raises:
            PolicyDeskError: an unreadable artefact or one trained on other features.
        """
        from retrieval.ranker import LearnedRanker, RankerEncoderError

        try:
            return LearnedRanker.load(self.settings.ranker_model, self.embedder.fingerprint)
        except (ModelNotReadyError, RankerEncoderError) as exc:
            log.warning("card ranker not used (%s): cards in fused order", exc)
            return None

    def _emotion_for(self, directory: Path) -> EmotionClassifier:
        from sentiment.artefact import SentimentArtefact
        from sentiment.classifier import EmotionClassifier

        artefact = SentimentArtefact.load(directory)
        if artefact.manifest.encoder != self.embedder.fingerprint:
            raise PolicyDeskError(
                "the caller-emotion model was trained on another encoder "
                f"({artefact.manifest.encoder}): run `policydesk train sentiment`"
            )
        return EmotionClassifier(
            artefact, self.embedder, self.cue_book, max_chars=self.settings.max_query_chars
        )

    def content_changed(self) -> None:
        """Announce a change to what serves that no store recorded (a kept emotion retraining):
        every process rebuilds its snapshot from its next request on."""
        from db.changes import Change
        from db.generation import bump_generation

        with self.engine.begin() as conn:
            bump_generation(conn)
        self.changes.changed_here(Change.CONTENT)

    @property
    def guard(self) -> ComplianceGuard:
        """The compliance guard of the current generation (shipped rules + the studio's)."""
        return self.content().guard

    @property
    def term_map(self) -> TermMap:
        """The colloquial → formal term map of the current generation."""
        return self.content().term_map

    @property
    def scripts(self) -> ScriptLibrary:
        """The soothing scripts of the current generation."""
        return self.content().scripts

    @property
    def emotion(self) -> EmotionClassifier:
        """The caller-emotion classifier of the current generation.

        Raises:
            ModelNotReadyError: no artefact trained yet.
            PolicyDeskError: the artefact was trained on another encoder.
        """
        return self.content().emotion

    def index_exists(self) -> bool:
        """True when the data directory has a built index (without creating anything)."""
        return self.has_database() and self.content().active_collection is not None

    def retriever(self) -> HybridRetriever:
        """The retriever over the live index of the current generation.

        Raises:
            IndexNotBuiltError: nothing has been ingested into this data directory.
        """
        content = self.content()
        if content.active_collection is None:
            raise IndexNotBuiltError(self.settings.data_dir)
        return content.retriever

    def conversation_search(self) -> ConversationSearch:
        """Cards that follow a conversation (topic state, learned ranker) over the live index.

        Raises:
            IndexNotBuiltError: nothing has been ingested into this data directory.
        """
        self.retriever()  # names a missing index
        return self.content().conversation

    def train_card_ranker(
        self, data: Path, target: Path, say: Callable[[str], None] | None = None
    ) -> RankerManifest:
        """Train the card ranker from the labelled questions and calls in ``data`` over the
        live index, and swap it into ``target`` whole (a failed run leaves the old one).

        Raises:
            IndexNotBuiltError: nothing ingested to replay the data against.
            PolicyDeskError: no data files, an invalid record (naming the line), or data from
                fewer than two authors.
        """
        import shutil
        import tempfile

        from knowledge.ranker_training import load_calls, load_questions, train_ranker
        from retrieval.conversation_search import ConversationSearch

        question_files = sorted(data.glob("questions_*.jsonl"))
        call_files = sorted(data.glob("calls_*.jsonl"))
        if not question_files:
            raise PolicyDeskError(f"{data}: no questions_*.jsonl to train the card ranker on")
        questions = load_questions(question_files)
        calls = load_calls(call_files)
        search = ConversationSearch(self.retriever(), self.topic_lexicon, None)
        ranker, vectors, gold = train_ranker(
            search,
            questions,
            calls,
            self.embedder.fingerprint,
            self.training_embedder.embed_queries,
            say,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            ranker.save(fresh, vectors, gold)
            old = target.with_name(f".{target.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                target.rename(old)
            fresh.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        self.__dict__.pop("card_ranker", None)
        return ranker.manifest

    # ----- the caller-emotion model -----------------------------------------------------------

    @property
    def retrained_emotion_dir(self) -> Path:
        """Where a caller-emotion model retrained in the studio and kept by a trainer lives."""
        return self.settings.data_dir / "models" / "sentiment"

    @property
    def emotion_model_dir(self) -> Path:
        """The artefact that serves: a kept studio retraining, else the shipped one."""
        from sentiment.artefact import read_manifest

        kept = self.retrained_emotion_dir
        return kept if read_manifest(kept) is not None else self.settings.sentiment_model

    def emotion_retrainer(self) -> EmotionRetrainer:
        """Retraining from trainers' utterances against the model that serves now."""
        from sentiment.retrain import EmotionRetrainer

        return EmotionRetrainer(
            self.training_embedder,
            self.cue_book,
            serving=self.emotion_model_dir,
            live_dir=self.retrained_emotion_dir,
            extra_corpora=self.settings.sentiment_extra_corpora,
            cache=self.settings.training_cache,
        )

    # ----- services built per use from the current content ------------------------------------

    def phraser(self, llm: BaseChatModel | None = None) -> LlmPhraser | None:
        """Grounded, guarded LLM phrasing when an LLM is configured (or given), else None."""
        from prompts.llm import LlmPhraser

        model = llm or self.chat_model
        if model is None:
            return None
        return LlmPhraser.load(model, self.guard, self.settings.llm_prompts)

    def wrap_up(self) -> WrapUpService:
        """Call summaries and dispositions saved to the customer's history."""
        from assist.wrapup import WrapUpService

        return WrapUpService(self.customers, self.fact_book, self.phraser())

    def agent_replies(self) -> AgentReplies:
        """Agents' replies into handed-over chats, and the customers' new messages."""
        from chatbot.replies import AgentReplies

        return AgentReplies(self.conversations, self.handoffs, self.guard)

    def draft_preview(self, user: User, item_ids: Sequence[str] | None = None) -> DraftPreview:
        """Search the live index as if these items' latest versions (by default: every
        unpublished draft) were published.

        Raises:
            IndexNotBuiltError: no live index yet.
            PolicyDeskError: an unknown item or a refused permission.
        """
        from studio.curation import DraftPreview, draft_passages, unpublished_ids

        ids = unpublished_ids(self.studio, user) if item_ids is None else item_ids
        return DraftPreview(
            self.retriever(),
            self.embedder,
            draft_passages(self.studio, user, ids),
            self.settings.chunk_chars,
            self.settings.chunk_overlap,
        )

    def chatbot(self) -> ChatbotService:
        """The self-service chatbot over the current content.

        It is bound to the snapshot of the moment; a long-lived holder (the API) builds a new one
        when ``content().generation`` moved.

        Raises:
            IndexNotBuiltError: no knowledge index yet.
            ModelNotReadyError: the caller-emotion model is not trained.
            ConfigurationError: invalid routing rules, answer templates or unknown-intent bar.
        """

        from chatbot.answers import AnswerBook
        from chatbot.confidence import AnswerBar
        from chatbot.service import ChatbotService
        from chatbot.understanding import MessageRules

        content = self.content()
        retriever = self.retriever()
        return ChatbotService(
            conversations=self.conversations,
            rules=MessageRules.load(self.settings.routing_rules),
            conversation_search=self.conversation_search(),
            embed=retriever.embed_query,
            emotion=content.emotion,
            guard=content.guard,
            answers=AnswerBook.load(self.settings.chat_answers),
            unknown_intent=AnswerBar.load(self.settings.chat_unknown_intent),
            customers=self.customers,
            queue=self.handoffs,
            reviews=self.routing_reviews,
            detector=self.handoff_detector,
            phraser=self.phraser(),
            rate_limit=self.settings.chat_rate_limit,
            min_confidence=self.settings.chat_min_confidence,
            lockout=self.identity_lockout,
            audit=self.audit,
            on_answered=lambda conversation, answer: self.quality.chat_answered(
                conversation, ",".join(answer.reasons) if answer.handoff_id else ""
            ),
            flows=self.flow_book,
            desk=self.selfservice_desk,
            zone=self.settings.centre_timezone,
        )

    def demo_calls(self) -> list[DemoCall]:
        """The recorded calls the console can replay.

        Raises:
            ConfigurationError: a missing or invalid call index.
        """
        from assist.calls import demo_calls

        return demo_calls(self.settings.demo_calls)

    def assist_session(
        self,
        customer_id: str | None = None,
        llm: BaseChatModel | None = None,
        phrased: bool = True,
    ) -> AssistSession:
        """A new call's assist session on the current content, optionally for a known customer.

        Args:
            customer_id: the caller, when identified.
            llm: a chat model for this session instead of the configured one (benchmarks).
            phrased: False for the template reply even when an LLM is configured (warm-up).

        Raises:
            IndexNotBuiltError: no knowledge index yet.
            CustomerNotFoundError: unknown customer id.
        """
        from assist.pipeline import AssistSession

        content = self.content()
        retriever = self.retriever()
        profile = self.customers.profile(customer_id) if customer_id else None
        return AssistSession(
            conversation=self.conversation_search(),
            embed=retriever.embed_query,
            emotion=content.emotion,
            intents=self.intents,
            guard=content.guard,
            scripts=content.scripts,
            profile=profile,
            phraser=self.phraser(llm) if phrased else None,
        )

    # ----- member privileges (customers/privileges.py, customers/bookings.py) -------------------

    def privileges(self) -> PrivilegeBook:
        """The member privileges per tier, read again when a supervisor has changed the file.

        Raises:
            ConfigurationError: the file is missing or invalid (names the file and the field).
        """
        from customers.privileges import load_privileges

        return self._edited_file(self.settings.privileges_file, load_privileges)

    @cached_property
    def privilege_service(self) -> PrivilegeService:
        """Booking members' privileges against their tier's yearly quotas (audited)."""
        from customers.bookings import PrivilegeBookingStore, PrivilegeService

        store = PrivilegeBookingStore(self.engine, self.privileges, self.settings.centre_zone)
        return PrivilegeService(store, self.audit)

    def warm_up(self) -> Readiness:
        """Load everything a first call or chat would wait for: the current content, the
        encoder, the index (vectors and keywords), the emotion model, and one pass of the assist
        pipeline's parts on a throwaway text (nothing stored, no LLM call), so that the first turn
        of the first call is as fast as any other.

        Never raises: a part that cannot load is reported by name with the reason.
        """
        from services.readiness import warm_up

        return warm_up(self)

    # ----- uploads ----------------------------------------------------------------------------

    @cached_property
    def uploads(self) -> UploadStore:
        """Photos and documents for claims, under ``<data_dir>/uploads`` by content hash."""
        from customers.uploads import UploadKind, UploadLimits, UploadStore

        settings = self.settings
        limits = UploadLimits(
            max_bytes=settings.upload_max_bytes,
            max_pixels=settings.upload_max_pixels,
            kinds=frozenset(UploadKind(k) for k in settings.upload_kinds),
        )
        return UploadStore(self.engine, settings.uploads_dir, limits)

    # ----- self-service claim records (customers/selfservice.py) -----

    @cached_property
    def selfservice(self) -> SelfServiceRecords:
        """The records the self-service claims flows end in: reported claims, appointments,
        withdrawal requests (a person decides those).

        Raises:
            ConfigurationError: the slot rules file is missing or invalid.
        """
        from zoneinfo import ZoneInfo

        from customers.selfservice import SelfServiceRecords, load_slot_rules

        return SelfServiceRecords(
            self.engine,
            self.audit,
            load_slot_rules(self.settings.selfservice_slots),
            ZoneInfo(self.settings.centre_timezone),
            self.changes,
        )

    @cached_property
    def flow_book(self) -> FlowBook:
        """The chatbot's guided flows and the fault rules, read once per process (the chat page
        builds a chatbot on every refresh).

        Raises:
            ConfigurationError: a flows or fault-rules file is missing or invalid.
        """
        from chatbot.flows import FlowBook

        return FlowBook.load(self.settings.chat_flows, self.settings.chat_fault_rules)

    @cached_property
    def selfservice_desk(self) -> SelfServiceDesk:
        """What the chatbot's guided flows do in the records: the files customers send, the
        record a flow ends in, the slots offered."""
        from zoneinfo import ZoneInfo

        from chatbot.records import SelfServiceDesk

        return SelfServiceDesk(
            self.selfservice,
            self.uploads,
            self.customers,
            self.privilege_service,
            ZoneInfo(self.settings.centre_timezone),
        )

    # ----- outreach (车主秘书) -------------------------------------------------------------

    @cached_property
    def outreach_store(self) -> OutreachStore:
        """The outbox, the reminders sent and the opt-outs."""
        from outreach.store import OutreachStore

        return OutreachStore(self.engine)

    @cached_property
    def reminders(self) -> ReminderService:
        """The proactive reminders job (plan, queue, deliver) and its views."""
        from outreach.channels import ChannelAdapter, SmsWebhook, WeChatTemplateWebhook
        from outreach.feeds import read_violations, read_weather
        from outreach.models import Channel, Feeds
        from outreach.rules import load_rules
        from outreach.service import ReminderService

        settings = self.settings
        rules = load_rules(settings.outreach_rules)
        token = settings.outreach_webhook_token
        secret = token.get_secret_value() if token else None
        adapters: dict[Channel, ChannelAdapter] = {}
        if settings.sms_webhook_url:
            adapters[Channel.SMS] = SmsWebhook(
                settings.sms_webhook_url, secret, settings.outreach_timeout
            )
        if settings.wechat_webhook_url:
            adapters[Channel.WECHAT] = WeChatTemplateWebhook(
                settings.wechat_webhook_url,
                rules.wechat_template_id,
                secret,
                settings.outreach_timeout,
            )

        def feeds() -> Feeds:
            weather, violations = settings.outreach_weather_feed, settings.outreach_violation_feed
            timeout = settings.outreach_timeout
            return Feeds(
                weather=read_weather(weather, timeout) if weather else [],
                violations=read_violations(violations, timeout) if violations else [],
            )

        return ReminderService(
            self.outreach_store,
            self.customers,
            self.audit,
            rules,
            feeds,
            adapters,
            settings.centre_zone,
            max_attempts=settings.outreach_max_attempts,
            retry_seconds=settings.outreach_retry_seconds,
        )


def build_services(settings: Settings | None = None) -> Services:
    """Build the service container from settings (environment by default)."""
    return Services(settings or Settings())
