"""Curated knowledge items: kinds, workflow states, typed versioned content (models only).

A version's content is one of five models, told apart by ``kind`` (``ItemContent``):

* ``PassageContent`` for clauses, cases and FAQ answers: the passage fields. These become indexed
  passages when published (``to_passage``).
* ``ScriptContent`` holds a ``sentiment.scripts.SoothingScript``.
* ``TermContent`` holds a ``retrieval.synonyms.TermEntry`` (an expression and its synonyms).
* ``RuleContent`` holds a ``prompts.guard.ComplianceRule``.
* ``UtteranceContent`` holds a ``sentiment.data.LabelledUtterance`` and its split.

The last four are versioned and reviewed the same way but never indexed: their consumers read the
published records from the studio (``studio.overlays``, ``studio.utterances``). Each content
validates itself when built, so a pattern that does not compile, an unknown emotion or a term
without synonyms never gets as far as a version; the errors name the bad value.

A record's own id (a script's, a rule's, an utterance's) is its item's: the studio sets it from
the item id when it saves (``for_item``), so content for an item not yet created may carry
``NEW_RECORD_ID``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import PolicyDeskError, describe_validation_error
from core.models import Passage, PassageKind
from prompts.guard import ComplianceRule
from retrieval.synonyms import TermEntry
from sentiment.data import LabelledUtterance, Split
from sentiment.scripts import SoothingScript

ITEM_ID_RE = re.compile(r"^[^\s#]{1,200}$")
STUDIO_SOURCE = "studio"
NEW_RECORD_ID = "new"  # a valid id of every record kind; replaced by the item's when saved

_RULE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_NOT_RULE_ID = re.compile(r"[^a-z0-9]+")


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


class InvalidItemError(PolicyDeskError):
    """An item id, content or note that is not acceptable; names the problem."""


def rule_id_for(item_id: str) -> str:
    """The guard's rule id for an item: the item id when it is kebab-case (every shipped rule),
    else a kebab-case form of it (``compliance_rule-3fa2`` -> ``compliance-rule-3fa2``)."""
    if _RULE_ID.match(item_id):
        return item_id
    slug = _NOT_RULE_ID.sub("-", item_id.lower()).strip("-")
    return slug or f"rule-{hashlib.sha1(item_id.encode('utf-8')).hexdigest()[:10]}"


# ------------------------------------------------------------------------------------- content


class _Content(BaseModel):
    """What every kind's content shares: immutable, no unknown fields (a typo is refused, not
    silently dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    body_field: ClassVar[str] = "text"  # the field a diff shows line by line

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with some fields replaced.

        Raises:
            TypeError: ``update`` names something that is not a field (pydantic would set it
                silently): a script's ``text`` is its record's, so copy the record instead.
        """
        unknown = sorted(set(update or {}) - set(type(self).model_fields))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no field {', '.join(unknown)}; its fields are: "
                f"{', '.join(type(self).model_fields)}"
            )
        return super().model_copy(update=update, deep=deep)


class PassageContent(_Content):
    """A clause, case or FAQ answer: what its passage will hold (everything but id and source)."""

    kind: Literal[ItemKind.CLAUSE, ItemKind.CASE, ItemKind.FAQ]
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

    # the passage fields in display order (everything but the kind)
    FIELDS: ClassVar[tuple[str, ...]] = (
        "title",
        "text",
        "citation",
        "product",
        "document",
        "doc_id",
        "article",
        "version_label",
        "effective_date",
        "expiry_date",
        "outcome",
        "relied_on",
        "tags",
        "illustrative",
    )

    @field_validator("relied_on", "tags")
    @classmethod
    def _no_blank_entries(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v.strip()]

    @model_validator(mode="after")
    def _text_and_dates(self) -> PassageContent:
        if not self.text.strip():
            raise ValueError(
                f"a {self.kind.value} needs text: it is what agents and the chatbot cite"
            )
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
    def from_passage(cls, passage: Passage) -> PassageContent:
        """The editable content of an indexed passage (everything but id and source)."""
        return cls(
            kind=ItemKind(passage.kind.value),
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

    @property
    def label(self) -> str:
        """How lists name it: the citation, else the title."""
        return self.citation or self.title

    def for_item(self, item_id: str) -> PassageContent:
        """The content as item ``item_id`` stores it (unchanged: passage content carries no id)."""
        return self

    def fields(self) -> dict[str, object]:
        """The fields in display order."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def search_text(self) -> list[str]:
        """The values a text search looks in."""
        return [self.title, self.text, self.citation, self.document, self.article, *self.tags]


class _RecordContent(_Content):
    """Content that holds one domain record under ``record_field``. The record's unknown fields
    are refused here: the record models ignore them (their files may carry more), but in a
    studio version an unknown field is a typo that would otherwise be dropped silently."""

    record_field: ClassVar[str]
    record_model: ClassVar[type[BaseModel]]
    noun: ClassVar[str]  # as in "a script has no field ..."

    @model_validator(mode="before")
    @classmethod
    def _known_record_fields(cls, data: Any) -> Any:
        record = data.get(cls.record_field) if isinstance(data, dict) else None
        if isinstance(record, dict):
            known = list(cls.record_model.model_fields)
            unknown = sorted(set(record) - set(known))
            if unknown:
                raise ValueError(
                    f"a {cls.noun} has no field {', '.join(repr(k) for k in unknown)}; "
                    f"its fields are: {', '.join(known)}"
                )
        return data


class ScriptContent(_RecordContent):
    """A soothing script (``SoothingScript`` validates its emotion, situation and words)."""

    record_field: ClassVar[str] = "script"
    record_model: ClassVar[type[BaseModel]] = SoothingScript
    noun: ClassVar[str] = "script"

    kind: Literal[ItemKind.SCRIPT] = ItemKind.SCRIPT
    script: SoothingScript

    @property
    def title(self) -> str:
        """The script's title."""
        return self.script.title

    @property
    def text(self) -> str:
        """What the agent says."""
        return self.script.text

    @property
    def label(self) -> str:
        """How lists name it."""
        return self.title

    def for_item(self, item_id: str) -> ScriptContent:
        """The content as item ``item_id`` stores it: the script's id is the item's."""
        return self.model_copy(update={"script": self.script.model_copy(update={"id": item_id})})

    def fields(self) -> dict[str, object]:
        """The fields in display order."""
        s = self.script
        return {"title": s.title, "text": s.text, "situation": s.situation, "emotion": s.emotion}

    def search_text(self) -> list[str]:
        """The values a text search looks in."""
        return [self.script.title, self.script.text, self.script.situation, self.script.emotion]


class TermContent(_RecordContent):
    """A term-map entry: a colloquial expression and the formal terms it stands for."""

    record_field: ClassVar[str] = "term"
    record_model: ClassVar[type[BaseModel]] = TermEntry
    noun: ClassVar[str] = "term"
    body_field: ClassVar[str] = "expression"

    kind: Literal[ItemKind.TERM_MAP] = ItemKind.TERM_MAP
    term: TermEntry

    @property
    def title(self) -> str:
        """The expression."""
        return self.term.expression

    @property
    def text(self) -> str:
        """The expression."""
        return self.term.expression

    @property
    def label(self) -> str:
        """How lists name it."""
        return self.title

    def for_item(self, item_id: str) -> TermContent:
        """The content as item ``item_id`` stores it (a term carries no id)."""
        return self

    def fields(self) -> dict[str, object]:
        """The fields in display order."""
        return {"expression": self.term.expression, "synonyms": list(self.term.synonyms)}

    def search_text(self) -> list[str]:
        """The values a text search looks in."""
        return [self.term.expression, *self.term.synonyms]


class RuleContent(_RecordContent):
    """A compliance rule. Beyond ``ComplianceRule``'s own checks (patterns compile, at least one),
    the reason and rewrite must not be blank and no pattern or exception may match empty text: it
    would flag, or silence, every sentence."""

    record_field: ClassVar[str] = "rule"
    record_model: ClassVar[type[BaseModel]] = ComplianceRule
    noun: ClassVar[str] = "compliance rule"
    body_field: ClassVar[str] = "reason"

    kind: Literal[ItemKind.COMPLIANCE_RULE] = ItemKind.COMPLIANCE_RULE
    rule: ComplianceRule

    @model_validator(mode="after")
    def _usable(self) -> RuleContent:
        rule = self.rule
        if not rule.reason.strip():
            raise ValueError("a compliance rule needs its reason: why the agent must not say it")
        if not rule.rewrite.strip():
            raise ValueError(
                "a compliance rule needs a rewrite: a compliant way of saying it, offered instead"
            )
        for name, patterns, effect in (
            ("pattern", rule.patterns, "flag every sentence"),
            ("unless", rule.unless, "silence the rule"),
        ):
            for pattern in patterns:
                if re.compile(pattern).search("") is not None:
                    raise ValueError(f"{name} {pattern!r} matches empty text, so it would {effect}")
        return self

    @property
    def title(self) -> str:
        """The rule's id."""
        return self.rule.id

    @property
    def text(self) -> str:
        """Why the agent must not say it."""
        return self.rule.reason

    @property
    def label(self) -> str:
        """How lists name it."""
        return self.title

    def for_item(self, item_id: str) -> RuleContent:
        """The content as item ``item_id`` stores it: the rule id is ``rule_id_for(item_id)``."""
        rule = self.rule.model_copy(update={"id": rule_id_for(item_id)})
        return self.model_copy(update={"rule": rule})

    def fields(self) -> dict[str, object]:
        """The fields in display order."""
        r = self.rule
        return {
            "reason": r.reason,
            "rewrite": r.rewrite,
            "category": r.category.value,
            "severity": r.severity.value,
            "patterns": list(r.patterns),
            "unless": list(r.unless),
        }

    def search_text(self) -> list[str]:
        """The values a text search looks in."""
        r = self.rule
        return [r.id, r.reason, r.rewrite, r.category.value, *r.patterns, *r.unless]


class UtteranceContent(_RecordContent):
    """A labelled caller utterance and the shipped split it belongs to."""

    record_field: ClassVar[str] = "utterance"
    record_model: ClassVar[type[BaseModel]] = LabelledUtterance
    noun: ClassVar[str] = "labelled utterance"

    kind: Literal[ItemKind.UTTERANCE] = ItemKind.UTTERANCE
    utterance: LabelledUtterance
    split: Split = "train"

    @property
    def title(self) -> str:
        """The start of the words."""
        return self.utterance.text[:30]

    @property
    def text(self) -> str:
        """The caller's words."""
        return self.utterance.text

    @property
    def label(self) -> str:
        """How lists name it."""
        return self.title

    def for_item(self, item_id: str) -> UtteranceContent:
        """The content as item ``item_id`` stores it: the utterance's id is the item's."""
        utterance = self.utterance.model_copy(update={"id": item_id})
        return self.model_copy(update={"utterance": utterance})

    def fields(self) -> dict[str, object]:
        """The fields in display order."""
        u = self.utterance
        return {
            "text": u.text,
            "label": u.label.value,
            "split": self.split,
            "situation": u.situation,
            "escalation": u.escalation,
        }

    def search_text(self) -> list[str]:
        """The values a text search looks in."""
        u = self.utterance
        return [u.text, u.label.value, u.situation, self.split]


ItemContent = Annotated[
    PassageContent | ScriptContent | TermContent | RuleContent | UtteranceContent,
    Field(discriminator="kind"),
]
"""One version's content; ``kind`` says which model it is."""

_CONTENT: TypeAdapter[ItemContent] = TypeAdapter(ItemContent)


def parse_content(raw: object, what: str = "content") -> ItemContent:
    """Content from its JSON form (``{"kind": ..., ...}``).

    Args:
        raw: the decoded JSON.
        what: what the content is, for the message (e.g. "version 2 of item t-1").

    Raises:
        InvalidItemError: the content does not validate; names each field and bad value.
    """
    try:
        return _CONTENT.validate_python(raw)
    except ValidationError as exc:
        raise InvalidItemError(f"{what} is not valid: {describe_validation_error(exc)}") from exc


def checked(content: ItemContent, what: str = "content") -> ItemContent:
    """The content validated again, from the JSON form it is stored in: a copy made with
    ``model_copy`` (a record with one field replaced) skips validation, and a version must never
    hold content it cannot be read back as.

    Raises:
        InvalidItemError: the content does not validate; names each field and bad value.
    """
    return parse_content(content.model_dump(mode="json"), what)


# ------------------------------------------------------------------------------------- items


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


class LiveContents(BaseModel):
    """The published content of every live item of a kind, and the items whose stored content
    the current content models refuse (written before a check existed; their consumers skip
    them)."""

    contents: dict[str, ItemContent] = Field(default_factory=dict, description="id -> content")
    unreadable: dict[str, str] = Field(default_factory=dict, description="id -> the problem")


class ItemQuery(BaseModel):
    """Filters for browsing items; they combine with AND, and None means any."""

    kind: ItemKind | None = None
    status: ItemStatus | None = None
    product: str | None = Field(default=None, description="only passages of this product")
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
        pydantic.ValidationError: the content cannot make a passage.
    """
    kind = item.kind.passage_kind
    content = version.content
    if kind is None or not isinstance(content, PassageContent):
        return None
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
