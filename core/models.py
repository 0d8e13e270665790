"""Typed domain models that cross package boundaries."""

from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class PassageKind(StrEnum):
    """What a passage is: a policy clause article, a precedent case, or a service FAQ answer."""

    CLAUSE = "clause"
    CASE = "case"
    FAQ = "faq"


class Passage(BaseModel):
    """The unit of citation: one clause article, one precedent case or one FAQ entry."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    kind: PassageKind
    title: str = ""
    text: str = Field(min_length=1)
    citation: str = ""
    document: str = ""
    doc_id: str = ""
    version: str = ""
    article: str = ""
    product: str = ""
    effective_date: date | None = None
    expiry_date: date | None = None
    source: str = ""
    outcome: str = ""
    relied_on: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    illustrative: bool = False

    @field_validator("id")
    @classmethod
    def _id_has_no_whitespace(cls, value: str) -> str:
        if any(ch.isspace() for ch in value) or "#" in value:
            raise ValueError(f"passage id {value!r} must not contain whitespace or '#'")
        return value

    def content_hash(self) -> str:
        """A digest of everything that affects indexing and display; a change re-embeds."""
        payload = self.model_dump_json(exclude={"source"})
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

    def heading(self) -> str:
        """Document name and title, the context every indexed chunk of this passage starts with."""
        if self.document and self.document not in self.title:
            return f"{self.document} {self.title}".strip()
        return self.title or self.document

    def in_force(self, on: date) -> bool:
        """True when this passage applies on the given date."""
        if self.effective_date is not None and self.effective_date > on:
            return False
        return self.expiry_date is None or self.expiry_date > on


class Chunk(BaseModel):
    """A piece of a passage small enough for the embedder; it keeps its passage's id."""

    model_config = ConfigDict(frozen=True)

    id: str
    passage_id: str
    seq: int = Field(ge=0)
    text: str


class SearchFilters(BaseModel):
    """Restrictions on what a search may return."""

    kinds: list[PassageKind] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    as_of: date | None = Field(default=None, description="only passages in force on this date")

    def admits(self, passage: Passage) -> bool:
        """True when the passage passes every filter."""
        if self.kinds and passage.kind not in self.kinds:
            return False
        if self.products and passage.product not in self.products:
            return False
        return self.as_of is None or passage.in_force(self.as_of)


class RetrievalMode(StrEnum):
    """Which retrievers answer: both fused (the product), or one alone (for evaluation)."""

    HYBRID = "hybrid"
    LEXICAL = "lexical"
    DENSE = "dense"


class SearchRequest(BaseModel):
    """One retrieval request."""

    query: str
    k: int = Field(default=5, ge=1, le=100)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    mode: RetrievalMode = RetrievalMode.HYBRID


class Hit(BaseModel):
    """One retrieved passage with its citation and why it matched."""

    id: str
    kind: PassageKind
    title: str
    citation: str
    text: str
    score: float
    matched_terms: list[str] = Field(default_factory=list)
    document: str = ""
    version: str = ""
    article: str = ""
    product: str = ""
    outcome: str = ""
    effective_date: date | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float | None = Field(default=None, description="cosine of the best chunk")
    lexical_score: float | None = Field(default=None, description="BM25 score")
    answers: str = Field(
        default="", description="the part of the conversation the card answers (网约车 · 拒赔争议)"
    )

    @classmethod
    def from_passage(cls, passage: Passage, score: float, **found: object) -> Hit:
        """The card of a passage: its citation and metadata, the score shown and what the search
        found (ranks, scores, matched terms, what it answers)."""
        return cls.model_validate(
            {
                "id": passage.id,
                "kind": passage.kind,
                "title": passage.title,
                "citation": passage.citation,
                "text": passage.text,
                "score": score,
                "document": passage.document,
                "version": passage.version,
                "article": passage.article,
                "product": passage.product,
                "outcome": passage.outcome,
                "effective_date": passage.effective_date,
                **found,
            }
        )


class SearchResult(BaseModel):
    """Hits for one query, best first, with the formal terms the query was expanded with."""

    query: str
    hits: list[Hit]
    expansions: list[str] = Field(default_factory=list)


class IngestReport(BaseModel):
    """What one ingest run changed."""

    files: list[str]
    passages: int
    added: int
    updated: int
    removed: int
    unchanged: int
    chunks_embedded: int
    seconds: float


class Emotion(StrEnum):
    """A caller's emotion as the console shows it."""

    ANGRY = "angry"
    ANXIOUS = "anxious"
    DISSATISFIED = "dissatisfied"
    NEUTRAL = "neutral"
    POSITIVE = "positive"

    @property
    def is_negative(self) -> bool:
        """Angry, anxious and dissatisfied callers need calming."""
        return self in (Emotion.ANGRY, Emotion.ANXIOUS, Emotion.DISSATISFIED)


class CueKind(StrEnum):
    """What kind of rule a cue comes from."""

    ESCALATION = "escalation"
    REPEAT = "repeat"
    PROFANITY = "profanity"
    URGENCY = "urgency"


class CueMatch(BaseModel):
    """One rule that fired on an utterance: the words and where they are."""

    model_config = ConfigDict(frozen=True)

    rule: str
    kind: CueKind
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    weight: float = Field(ge=0, le=1)


class EmotionResult(BaseModel):
    """The emotion of one caller utterance and why."""

    text: str
    label: Emotion
    upset: bool
    intensity: float = Field(ge=0, le=1)
    cues: list[str] = Field(default_factory=list, description="words or rules that drove it")
    probabilities: dict[Emotion, float] = Field(default_factory=dict)
    matches: list[CueMatch] = Field(default_factory=list)
    situation: str = "general"

    @property
    def escalation(self) -> bool:
        """Whether an escalation cue (complaint, regulator, media, lawsuit, leader) fired."""
        return any(m.kind is CueKind.ESCALATION for m in self.matches)

    def contract(self) -> dict[str, object]:
        """The documented JSON shape of ``policydesk sentiment --json``."""
        return {
            "text": self.text,
            "label": self.label.value,
            "upset": self.upset,
            "intensity": self.intensity,
            "cues": self.cues,
        }
