"""The composition root: builds every service from settings, lazily, in one place."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from core.errors import IndexNotBuiltError, PolicyDeskError
from core.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from langchain_core.language_models import BaseChatModel
    from sqlalchemy import Engine

    from accounts.models import User
    from accounts.store import AccountStore
    from assist.calls import DemoCall
    from assist.intents import IntentBook
    from assist.pipeline import AssistSession
    from assist.wrapup import WrapUpService
    from chatbot.learned import HandoffDetector
    from chatbot.queue import HandoffQueue
    from chatbot.replies import AgentReplies
    from chatbot.review import RoutingReviewLog
    from chatbot.service import ChatbotService
    from customers.store import CustomerStore
    from knowledge.audit import AuditLog
    from knowledge.catalog import KnowledgeCatalog
    from knowledge.curation import DraftPreview
    from knowledge.feedback import FeedbackStore
    from knowledge.golden import EvaluationRuns, GoldenSet
    from knowledge.ingest import IngestService
    from knowledge.items import ItemKind
    from knowledge.overlays import CuratedOverlay
    from knowledge.studio import StudioService
    from prompts.guard import ComplianceGuard
    from prompts.llm import LlmPhraser
    from retrieval.chroma_index import ChromaChunkIndex
    from retrieval.embedder import SentenceTransformerEmbedder
    from retrieval.retriever import HybridRetriever
    from retrieval.synonyms import TermMap
    from retrieval.text import InsuranceTokenizer
    from sentiment.classifier import EmotionClassifier
    from sentiment.cues import CueBook
    from sentiment.retrain import EmotionRetrainer
    from sentiment.scripts import ScriptLibrary
    from sentiment.service import SentimentTrainer

# the cached services built from studio items of a kind (and those holding one of them: the LLM
# phraser, the wrap-up service and the agents' chat replies hold the guard), dropped when such an
# item changes
_CURATED_SERVICES: dict[str, tuple[str, ...]] = {
    "script": ("scripts",),
    "term_map": ("term_map",),
    "compliance_rule": ("guard", "phraser", "wrap_up", "agent_replies"),
}
# kinds whose change must also rebuild the retriever: it holds the term map, and the API's shared
# chatbot (holding the guard) is rebuilt exactly when the retriever object changes
_REBUILD_RETRIEVER = frozenset({"term_map", "compliance_rule"})


class Services:
    """Lazily built, shared services. Nothing heavy happens until a service is first used."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._retriever: HybridRetriever | None = None
        self._retriever_collection: str | None = None

    @cached_property
    def engine(self) -> Engine:
        from sqlalchemy import create_engine

        url = self.settings.sqlalchemy_url()
        if url.startswith("sqlite:///"):
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return create_engine(url)

    @cached_property
    def catalog(self) -> KnowledgeCatalog:
        from knowledge.catalog import KnowledgeCatalog

        return KnowledgeCatalog(self.engine)

    @cached_property
    def embedder(self) -> SentenceTransformerEmbedder:
        from retrieval.embedder import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(
            self.settings.embedding_model,
            query_prefix=self.settings.query_prefix,
            passage_prefix=self.settings.passage_prefix,
        )

    @cached_property
    def vector_index(self) -> ChromaChunkIndex:
        from retrieval.chroma_index import ChromaChunkIndex

        return ChromaChunkIndex.open(
            self.settings.chroma_path, url=self.settings.chroma_url, embedder=self.embedder
        )

    @cached_property
    def tokenizer(self) -> InsuranceTokenizer:
        from retrieval.text import InsuranceTokenizer

        return InsuranceTokenizer(self.settings.terms_dir / "user_dict.txt")

    @cached_property
    def term_map(self) -> TermMap:
        """``data/terms/synonyms.tsv`` merged with the studio's published and retired terms.

        Raises:
            ConfigurationError: the shipped file is invalid.
        """
        from knowledge.items import ItemKind
        from knowledge.overlays import merged_term_map
        from retrieval.synonyms import TermMap

        shipped = TermMap.load(self.settings.terms_dir / "synonyms.tsv")
        return merged_term_map(shipped, self._curated(ItemKind.TERM_MAP))

    @cached_property
    def ingest(self) -> IngestService:
        from knowledge.ingest import IngestService

        return IngestService(
            self.catalog,
            self.vector_index,
            self.embedder,
            chunk_chars=self.settings.chunk_chars,
            chunk_overlap=self.settings.chunk_overlap,
        )

    @cached_property
    def cue_book(self) -> CueBook:
        from sentiment.cues import CueBook

        return CueBook.load(self.settings.sentiment_data / "cues.yaml")

    @cached_property
    def scripts(self) -> ScriptLibrary:
        """The shipped soothing scripts merged with the studio's published and retired scripts.

        Raises:
            ConfigurationError: the shipped file is missing or invalid.
        """
        from knowledge.items import ItemKind
        from knowledge.overlays import merged_scripts
        from sentiment.scripts import ScriptLibrary

        shipped = ScriptLibrary.load(self.settings.scripts_file)
        return merged_scripts(shipped, self._curated(ItemKind.SCRIPT))

    @cached_property
    def sentiment_trainer(self) -> SentimentTrainer:
        from sentiment.service import SentimentTrainer

        return SentimentTrainer(
            self.settings.sentiment_data,
            self.settings.sentiment_model,
            self.embedder,
            self.cue_book,
        )

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

    def reload_emotion(self) -> None:
        """Serve the current emotion artefact from the next call on (after keeping a retrain)."""
        with self._lock:
            self.__dict__.pop("emotion", None)

    def emotion_retrainer(self) -> EmotionRetrainer:
        """Retraining from trainers' utterances against the model that serves now."""
        from sentiment.retrain import EmotionRetrainer

        return EmotionRetrainer(
            self.embedder,
            self.cue_book,
            serving=self.emotion_model_dir,
            live_dir=self.retrained_emotion_dir,
            extra_corpora=self.settings.sentiment_extra_corpora,
        )

    @cached_property
    def emotion(self) -> EmotionClassifier:
        """The caller-emotion classifier on the shared encoder.

        Raises:
            ModelNotReadyError: no artefact trained yet.
            PolicyDeskError: the artefact was trained on another encoder.
        """
        from sentiment.artefact import SentimentArtefact
        from sentiment.classifier import EmotionClassifier

        artefact = SentimentArtefact.load(self.emotion_model_dir)
        if artefact.manifest.encoder != self.embedder.fingerprint:
            raise PolicyDeskError(
                "the caller-emotion model was trained on another encoder "
                f"({artefact.manifest.encoder}): run `policydesk train-sentiment`"
            )
        return EmotionClassifier(
            artefact, self.embedder, self.cue_book, max_chars=self.settings.max_query_chars
        )

    @cached_property
    def customers(self) -> CustomerStore:
        from customers.store import CustomerStore

        return CustomerStore(self.engine)

    @cached_property
    def guard(self) -> ComplianceGuard:
        """The shipped compliance rules merged with the studio's published and retired rules.

        Raises:
            ConfigurationError: the shipped rule file is missing or invalid.
        """
        from knowledge.items import ItemKind
        from knowledge.overlays import merged_guard
        from prompts.guard import ComplianceGuard

        shipped = ComplianceGuard.load(self.settings.compliance_rules)
        return merged_guard(shipped, self._curated(ItemKind.COMPLIANCE_RULE))

    def _curated(self, kind: ItemKind) -> CuratedOverlay:
        """The studio's published and retired items of a kind; none while there is no studio
        (no database or no item tables yet: the shipped files serve alone, nothing is created)."""
        from sqlalchemy import inspect

        from knowledge.overlays import CuratedOverlay, read_overlay
        from knowledge.repository import KnowledgeRepository, items_table

        url = self.settings.sqlalchemy_url()
        if url.startswith("sqlite:///") and not (self.settings.data_dir / "policydesk.db").exists():
            return CuratedOverlay()
        if not inspect(self.engine).has_table(items_table.name):
            return CuratedOverlay()
        return read_overlay(KnowledgeRepository(self.engine), kind)

    def refresh_curated(self, kind: ItemKind | None = None) -> None:
        """Serve the studio's current scripts, terms or compliance rules from their next use on.

        The studio calls this after a publish, retire or rollback of such an item. What was built
        from that kind is dropped and rebuilt when next used; a call or chat already holding the
        old object keeps it until it ends.

        Args:
            kind: the kind that changed; None refreshes all three.
        """
        kinds = [kind.value] if kind is not None else list(_CURATED_SERVICES)
        with self._lock:
            for value in kinds:
                for name in _CURATED_SERVICES.get(value, ()):
                    self.__dict__.pop(name, None)
                if value in _REBUILD_RETRIEVER:
                    self._retriever = None
                    self._retriever_collection = None

    @cached_property
    def intents(self) -> IntentBook:
        from assist.intents import IntentBook

        return IntentBook.load(self.settings.intents_file)

    @cached_property
    def chat_model(self) -> BaseChatModel | None:
        """The optional LLM (an OpenAI-compatible endpoint), or None: templates only."""
        from prompts.llm import build_chat_model

        key = self.settings.llm_api_key
        return build_chat_model(
            self.settings.llm_base_url,
            self.settings.llm_model,
            key.get_secret_value() if key else None,
            self.settings.llm_timeout,
        )

    @cached_property
    def phraser(self) -> LlmPhraser | None:
        """Grounded, guarded LLM phrasing when an LLM is configured."""
        from prompts.llm import LlmPhraser

        model = self.chat_model
        if model is None:
            return None
        return LlmPhraser.load(model, self.guard, self.settings.llm_prompts)

    @cached_property
    def feedback(self) -> FeedbackStore:
        from knowledge.feedback import FeedbackStore

        return FeedbackStore(self.engine)

    @cached_property
    def wrap_up(self) -> WrapUpService:
        from assist.wrapup import WrapUpService

        return WrapUpService(self.customers, self.phraser)

    @cached_property
    def accounts(self) -> AccountStore:
        from accounts.store import AccountStore

        store = AccountStore(self.engine)
        store.create_schema()
        return store

    @cached_property
    def audit(self) -> AuditLog:
        from knowledge.audit import AuditLog

        log = AuditLog(self.engine)
        log.create_schema()
        return log

    @cached_property
    def studio(self) -> StudioService:
        """Curation of the knowledge base: versions, review, publishing into the live index."""
        from knowledge.repository import KnowledgeRepository
        from knowledge.studio import StudioService

        studio = StudioService(
            KnowledgeRepository(self.engine),
            self.audit,
            self.ingest,
            self.accounts,
            on_change=self.refresh_curated,
        )
        studio.create_schema()
        return studio

    def draft_preview(self, user: User, item_ids: Sequence[str] | None = None) -> DraftPreview:
        """Search the live index as if these items' latest versions (by default: every
        unpublished draft) were published.

        Raises:
            IndexNotBuiltError: no live index yet.
            PolicyDeskError: an unknown item or a refused permission.
        """
        from knowledge.curation import DraftPreview, draft_passages, unpublished_ids

        ids = unpublished_ids(self.studio, user) if item_ids is None else item_ids
        return DraftPreview(
            self.retriever(),
            self.embedder,
            draft_passages(self.studio, user, ids),
            self.settings.chunk_chars,
            self.settings.chunk_overlap,
        )

    @cached_property
    def golden(self) -> GoldenSet:
        from knowledge.golden import GoldenSet

        golden = GoldenSet(self.engine)
        golden.create_schema()
        return golden

    @cached_property
    def eval_runs(self) -> EvaluationRuns:
        from knowledge.golden import EvaluationRuns

        runs = EvaluationRuns(self.engine)
        runs.create_schema()
        return runs

    @cached_property
    def handoffs(self) -> HandoffQueue:
        from chatbot.queue import HandoffQueue

        queue = HandoffQueue(self.engine)
        queue.create_schema()
        return queue

    @cached_property
    def agent_replies(self) -> AgentReplies:
        """Agents' replies into handed-over chats, and the customers' new messages."""
        from chatbot.replies import AgentReplies
        from chatbot.sessions import ConversationStore

        return AgentReplies(ConversationStore(self.engine), self.handoffs, self.guard)

    @cached_property
    def routing_reviews(self) -> RoutingReviewLog:
        """Routing decisions the learned detector made alone, for review (``chatbot.review``)."""
        from chatbot.review import RoutingReviewLog

        log = RoutingReviewLog(self.engine)
        log.create_schema()
        return log

    @cached_property
    def handoff_detector(self) -> HandoffDetector:
        """The learned handoff detector on the shared encoder.

        Raises:
            ModelNotReadyError: not trained yet.
            ConfigurationError: trained on another encoder.
        """
        from chatbot.learned import HandoffDetector

        detector = HandoffDetector.load(self.settings.routing_model)
        detector.check_encoder(self.embedder.fingerprint)
        return detector

    def chatbot(self) -> ChatbotService:
        """The self-service chatbot over the live index.

        It is bound to the index, guard and models of the moment; a long-lived holder (the API)
        builds a new one when ``retriever()`` returns a new object (an ingest, a publish or a
        curated change happened).

        Raises:
            IndexNotBuiltError: no knowledge index yet.
            ModelNotReadyError: the caller-emotion model is not trained.
            ConfigurationError: invalid routing rules or answer templates.
        """
        from chatbot.answers import AnswerBook
        from chatbot.service import ChatbotService
        from chatbot.sessions import ConversationStore
        from chatbot.understanding import MessageRules

        retriever = self.retriever()
        return ChatbotService(
            conversations=ConversationStore(self.engine),
            rules=MessageRules.load(self.settings.routing_rules),
            search=retriever.search,
            embed=retriever.embed_query,
            emotion=self.emotion,
            guard=self.guard,
            answers=AnswerBook.load(self.settings.chat_answers),
            customers=self.customers,
            queue=self.handoffs,
            reviews=self.routing_reviews,
            detector=self.handoff_detector,
            phraser=self.phraser,
            rate_limit=self.settings.chat_rate_limit,
            min_confidence=self.settings.chat_min_confidence,
        )

    def demo_calls(self) -> list[DemoCall]:
        """The recorded calls the console can replay.

        Raises:
            ConfigurationError: a missing or invalid call index.
        """
        from assist.calls import demo_calls

        return demo_calls(self.settings.demo_calls)

    def assist_session(
        self, customer_id: str | None = None, llm: BaseChatModel | None = None
    ) -> AssistSession:
        """A new call's assist session, optionally for a known customer.

        Args:
            customer_id: the caller, when identified.
            llm: a chat model for this session instead of the configured one (benchmarks).

        Raises:
            IndexNotBuiltError: no knowledge index yet.
            CustomerNotFoundError: unknown customer id.
        """
        from assist.pipeline import AssistSession
        from prompts.llm import LlmPhraser

        retriever = self.retriever()
        profile = self.customers.profile(customer_id) if customer_id else None
        return AssistSession(
            search=retriever.search,
            embed=retriever.embed_query,
            emotion=self.emotion,
            intents=self.intents,
            guard=self.guard,
            scripts=self.scripts,
            profile=profile,
            phraser=(
                LlmPhraser.load(llm, self.guard, self.settings.llm_prompts) if llm else self.phraser
            ),
        )

    def index_exists(self) -> bool:
        """True when the data directory has a built index (without creating anything)."""
        url = self.settings.sqlalchemy_url()
        if url.startswith("sqlite:///") and not (self.settings.data_dir / "policydesk.db").exists():
            return False
        return self.catalog.exists()

    def retriever(self) -> HybridRetriever:
        """The retriever over the live index, rebuilt when an ingest switched collections.

        Raises:
            IndexNotBuiltError: nothing has been ingested into this data directory.
        """
        from knowledge.catalog import ACTIVE_COLLECTION
        from retrieval.retriever import HybridRetriever

        if not self.index_exists():
            raise IndexNotBuiltError(self.settings.data_dir)
        with self._lock:
            active = self.catalog.state(ACTIVE_COLLECTION)
            if self._retriever is None or active != self._retriever_collection:
                assert active is not None
                self._retriever = HybridRetriever(
                    self.catalog.passages(),
                    self.vector_index,
                    active,
                    self.embedder,
                    self.tokenizer,
                    self.term_map,
                    candidates=self.settings.candidates,
                    case_weight=self.settings.case_weight,
                    max_query_chars=self.settings.max_query_chars,
                )
                self._retriever_collection = active
            return self._retriever


def build_services(settings: Settings | None = None) -> Services:
    """Build the service container from settings (environment by default)."""
    return Services(settings or Settings())
