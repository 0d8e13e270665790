"""Curated knowledge items: kinds, workflow states, versioned content (models only).

Clauses, cases and FAQ answers become indexed passages when published (``to_passage``). Scripts,
term maps, compliance rules and labelled utterances are versioned and reviewed the same way but are
never indexed: their consumers read the published versions from the studio.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.models import Passage, PassageKind

ITEM_ID_RE = re.compile(r"^[^\s#]{1,200}$")
STUDIO_SOURCE = "studio"


class ItemKind(StrEnum):
    """What an item is; the first three are retrieval passages."""

    CLAUSE = "clause"
    CASE = "case"
    FAQ = "faq"
    SCRIPT = "script"
    TERM_MAP = "term_map"
    COMPLIANCE_RULE = "compliance_rule"
    UTTERANCE = "utterance"

    @property
    def passage_kind(self) -> PassageKind | None:
        """The passage kind this item is indexed as, or None when it is not indexed."""
        try:
            return PassageKind(self.value)
        except ValueError:
            return None

    @property
    def indexed(self) -> bool:
        """True when published versions of this kind reach the retrieval index."""
        return self.passage_kind is not None


class ItemStatus(StrEnum):
    """Where an item's latest version is in the workflow."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETIRED = "retired"


class ItemContent(BaseModel):
    """The editable fields of one version.

    Passage kinds use the passage fields; other kinds keep their fields in ``data`` (a script's
    scene, a rule's pattern, an utterance's label) and may use ``text`` for the main text.
    """

    model_config = ConfigDict(frozen=True)

    title: str = ""
    text: str = ""
    citation: str = ""
    product: str = ""
    document: str = ""
    doc_id: str = ""
    article: str = ""
    version_label: str = Field(default="", description="the document's edition, e.g. 2020版")
    effective_date: date | None = None
    expiry_date: date | None = None
    outcome: str = ""
    relied_on: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    illustrative: bool = False
    data: dict[str, str] = Field(default_factory=dict)

    @field_validator("relied_on", "tags")
    @classmethod
    def _no_blank_entries(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v.strip()]

    @model_validator(mode="after")
    def _dates_in_order(self) -> ItemContent:
        if (
            self.effective_date is not None
            and self.expiry_date is not None
            and self.expiry_date <= self.effective_date
        ):
            raise ValueError(
                f"expiry date {self.expiry_date} must be after effective date {self.effective_date}"
            )
        return self

    @classmethod
    def from_passage(cls, passage: Passage) -> ItemContent:
        """The editable content of an indexed passage (everything but id, kind and source)."""
        return cls(
            title=passage.title,
            text=passage.text,
            citation=passage.citation,
            product=passage.product,
            document=passage.document,
            doc_id=passage.doc_id,
            article=passage.article,
            version_label=passage.version,
            effective_date=passage.effective_date,
            expiry_date=passage.expiry_date,
            outcome=passage.outcome,
            relied_on=list(passage.relied_on),
            tags=list(passage.tags),
            illustrative=passage.illustrative,
        )


class ItemVersion(BaseModel):
    """One immutable version of an item's content, with who made it, when and why."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    number: int = Field(ge=1)
    content: ItemContent
    author: str
    at: datetime
    note: str = ""
    status: ItemStatus = Field(description="the item's status when this version was made")
    published_by: str | None = None
    published_at: datetime | None = None

    @property
    def was_published(self) -> bool:
        """True when this version has been live at some time (rollback targets must be)."""
        return self.published_at is not None


class KnowledgeItem(BaseModel):
    """An item's workflow state. ``published_version`` is what serves; it may lag behind a draft."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=ITEM_ID_RE.pattern)
    kind: ItemKind
    status: ItemStatus
    current_version: int = Field(ge=1, description="the latest version")
    published_version: int | None = Field(default=None, description="the live version, if any")
    created_by: str
    created_at: datetime
    updated_at: datetime
    review_note: str = Field(default="", description="the last 'request changes' note")

    @property
    def live(self) -> bool:
        """True when a version of this item serves agents and the chatbot."""
        return self.published_version is not None


class ItemSummary(BaseModel):
    """An item with the content of its latest version, for lists."""

    item: KnowledgeItem
    content: ItemContent


class ItemDetail(BaseModel):
    """An item with every version, oldest first."""

    item: KnowledgeItem
    versions: list[ItemVersion]

    def version(self, number: int) -> ItemVersion | None:
        """One version by number, or None."""
        return next((v for v in self.versions if v.number == number), None)

    @property
    def current(self) -> ItemVersion:
        """The latest version."""
        found = self.version(self.item.current_version)
        assert found is not None, "repository invariant: the current version exists"
        return found

    @property
    def published(self) -> ItemVersion | None:
        """The live version, or None."""
        if self.item.published_version is None:
            return None
        return self.version(self.item.published_version)


class ItemQuery(BaseModel):
    """Filters for browsing items; they combine with AND, and None means any."""

    kind: ItemKind | None = None
    status: ItemStatus | None = None
    product: str | None = None
    effective_on: date | None = Field(
        default=None, description="only items whose latest version applies on this date"
    )
    text: str | None = Field(default=None, description="substring of id, title, text or citation")
    live: bool | None = Field(default=None, description="only items that serve (or do not)")
    limit: int = Field(default=500, ge=1, le=10_000)


class SeedReport(BaseModel):
    """What ``seed_published`` registered."""

    added: int
    skipped: int = Field(description="already registered")


def to_passage(item: KnowledgeItem, version: ItemVersion) -> Passage | None:
    """The indexed passage for a version of a clause, case or FAQ item; None for other kinds.

    The passage id is the item id, so publishing a new version replaces the old passage.

    Raises:
        pydantic.ValidationError: the content cannot make a passage (for example, empty text).
    """
    kind = item.kind.passage_kind
    if kind is None:
        return None
    content = version.content
    return Passage(
        id=item.id,
        kind=kind,
        title=content.title,
        text=content.text,
        citation=content.citation,
        document=content.document,
        doc_id=content.doc_id,
        version=content.version_label,
        article=content.article,
        product=content.product,
        effective_date=content.effective_date,
        expiry_date=content.expiry_date,
        source=STUDIO_SOURCE,
        outcome=content.outcome,
        relied_on=list(content.relied_on),
        tags=list(content.tags),
        illustrative=content.illustrative,
    )
