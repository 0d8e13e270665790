"""The curation workflow as pure rules: which action is legal in which state, and what it does.

States: draft → in_review → published → retired.

* ``edit`` makes a new version and puts the item in draft (from draft, in review or published).
  Editing a published item leaves its published version live until the new one is published;
  editing an item in review withdraws it from review.
* ``submit`` sends a draft to review; ``request_changes`` (a reviewer, with a note) sends it back.
* ``publish`` makes the version in review live. The publisher must not be that version's author.
* ``retire`` takes an item out of service from any state but retired; retired items cannot be
  edited, submitted or published.
* ``rollback`` to version N is a reviewer's emergency action: it makes a new version with N's
  content and publishes it at once (also for a retired item, which it restores). Only a version
  that was published before can be a target, so rollback never publishes unreviewed content and
  needs no second reviewer.

Every function here is pure; ``studio.StudioService`` applies the plans to storage and the index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from core.errors import PolicyDeskError
from core.models import Emotion
from prompts.guard import RuleCategory, Severity
from studio.items import (
    ITEM_ID_RE,
    ItemContent,
    ItemKind,
    ItemStatus,
    ItemVersion,
    KnowledgeItem,
)

MAX_NOTE_CHARS = 2000

# The data fields of the kinds that are not indexed; ``studio.overlays`` converts them to the
# records their consumers read. Every data value is one line (the studio form edits data as
# ``key: value`` lines), so lists are either words separated by spaces (a term's synonyms) or
# numbered keys (a rule's ``pattern01``, ``pattern02``, ... and ``unless01``, ...).
SCRIPT_EMOTIONS = (*(e.value for e in Emotion), "any")
SCRIPT_FIELDS = frozenset({"emotion", "scene"})
TERM_FIELDS = frozenset({"synonyms"})
RULE_FIELDS = frozenset({"category", "severity", "rewrite"})
RULE_LISTS = ("pattern", "unless")
_TERM_SEPARATORS = re.compile(r"[\s,，、]+")
_NUMBERED_KEY = re.compile(r"^([a-z]+)(\d*)$")


class WorkflowAction(StrEnum):
    """A change of an existing item."""

    EDIT = "edit"
    SUBMIT = "submit"
    REQUEST_CHANGES = "request_changes"
    PUBLISH = "publish"
    RETIRE = "retire"
    ROLLBACK = "rollback"

    @property
    def verb(self) -> str:
        """The action as it reads in a message: 'cannot <verb> item X'."""
        return _VERBS[self]


_VERBS = {
    WorkflowAction.EDIT: "edit",
    WorkflowAction.SUBMIT: "submit for review",
    WorkflowAction.REQUEST_CHANGES: "request changes on",
    WorkflowAction.PUBLISH: "publish",
    WorkflowAction.RETIRE: "retire",
    WorkflowAction.ROLLBACK: "roll back",
}

_D, _R, _P, _X = ItemStatus.DRAFT, ItemStatus.IN_REVIEW, ItemStatus.PUBLISHED, ItemStatus.RETIRED

ALLOWED_FROM: Mapping[WorkflowAction, frozenset[ItemStatus]] = {
    WorkflowAction.EDIT: frozenset({_D, _R, _P}),
    WorkflowAction.SUBMIT: frozenset({_D}),
    WorkflowAction.REQUEST_CHANGES: frozenset({_R}),
    WorkflowAction.PUBLISH: frozenset({_R}),
    WorkflowAction.RETIRE: frozenset({_D, _R, _P}),
    WorkflowAction.ROLLBACK: frozenset({_D, _R, _P, _X}),
}

# why an action is refused in a state, and what to do instead
_REFUSALS: Mapping[tuple[WorkflowAction, ItemStatus], str] = {
    (WorkflowAction.EDIT, _X): "retired items cannot be edited; a reviewer can restore a "
    "published version with rollback",
    (WorkflowAction.SUBMIT, _R): "it is already waiting for review",
    (WorkflowAction.SUBMIT, _P): "its latest version is already published; edit it first",
    (WorkflowAction.SUBMIT, _X): "retired items cannot be submitted",
    (WorkflowAction.REQUEST_CHANGES, _D): "it is not in review",
    (WorkflowAction.REQUEST_CHANGES, _P): "it is not in review",
    (WorkflowAction.REQUEST_CHANGES, _X): "it is not in review",
    (WorkflowAction.PUBLISH, _D): "only an item in review can be published; submit it first",
    (WorkflowAction.PUBLISH, _P): "its latest version is already published",
    (WorkflowAction.PUBLISH, _X): "retired items cannot be published; use rollback to restore",
    (WorkflowAction.RETIRE, _X): "it is already retired",
}


class IllegalTransitionError(PolicyDeskError):
    """An action the item's state does not allow; names the item, the state and the action."""

    def __init__(
        self, item_id: str, status: ItemStatus, action: WorkflowAction, reason: str = ""
    ) -> None:
        reason = reason or _REFUSALS.get((action, status), "")
        super().__init__(
            f"cannot {action.verb} item {item_id}: it is {status.value}"
            + (f" ({reason})" if reason else "")
        )
        self.item_id = item_id
        self.status = status
        self.action = action


class SelfReviewError(IllegalTransitionError):
    """The publisher wrote the version under review: a second person must publish it."""


class InvalidItemError(PolicyDeskError):
    """An item id, content or note that is not acceptable; names the problem."""


class IndexEffect(StrEnum):
    """What a transition does to the retrieval index (for indexed kinds)."""

    NONE = "none"
    UPSERT = "upsert"
    REMOVE = "remove"


class Transition(BaseModel):
    """The outcome of a legal action: the new state and what to write."""

    model_config = ConfigDict(frozen=True)

    action: WorkflowAction
    status: ItemStatus
    published_version: int | None
    new_version: int | None = None
    index: IndexEffect = IndexEffect.NONE
    index_version: int | None = None


def check_allowed(item: KnowledgeItem, action: WorkflowAction) -> None:
    """Refuse an action the item's state does not allow.

    Raises:
        IllegalTransitionError: naming the item, its state, the action and why.
    """
    if item.status not in ALLOWED_FROM[action]:
        raise IllegalTransitionError(item.id, item.status, action)


def plan_edit(item: KnowledgeItem) -> Transition:
    """A new draft version; a live published version keeps serving until the next publish.

    Raises:
        IllegalTransitionError: the item is retired.
    """
    check_allowed(item, WorkflowAction.EDIT)
    return Transition(
        action=WorkflowAction.EDIT,
        status=_D,
        published_version=item.published_version,
        new_version=item.current_version + 1,
    )


def plan_submit(item: KnowledgeItem) -> Transition:
    """Draft → in review.

    Raises:
        IllegalTransitionError: the item is not a draft.
    """
    check_allowed(item, WorkflowAction.SUBMIT)
    return Transition(
        action=WorkflowAction.SUBMIT, status=_R, published_version=item.published_version
    )


def plan_request_changes(item: KnowledgeItem, note: str) -> Transition:
    """In review → draft, with a note telling the author what to change.

    Raises:
        IllegalTransitionError: the item is not in review.
        InvalidItemError: the note is blank.
    """
    check_allowed(item, WorkflowAction.REQUEST_CHANGES)
    if not note.strip():
        raise InvalidItemError(f"requesting changes on item {item.id} needs a note saying what")
    return Transition(
        action=WorkflowAction.REQUEST_CHANGES, status=_D, published_version=item.published_version
    )


def plan_publish(item: KnowledgeItem, version: ItemVersion, publisher: str) -> Transition:
    """In review → published: the version in review goes live.

    Args:
        item: the item.
        version: its current version (the one in review).
        publisher: the username publishing.

    Raises:
        IllegalTransitionError: the item is not in review, or ``version`` is not the one in review.
        SelfReviewError: the publisher is the version's author.
    """
    check_allowed(item, WorkflowAction.PUBLISH)
    if version.item_id != item.id or version.number != item.current_version:
        raise IllegalTransitionError(
            item.id,
            item.status,
            WorkflowAction.PUBLISH,
            f"version {version.number} is not the version in review "
            f"(version {item.current_version} is)",
        )
    if version.author == publisher:
        raise SelfReviewError(
            item.id,
            item.status,
            WorkflowAction.PUBLISH,
            f"{publisher} wrote version {version.number}; a reviewer other than the author "
            "must publish it",
        )
    return Transition(
        action=WorkflowAction.PUBLISH,
        status=_P,
        published_version=version.number,
        index=IndexEffect.UPSERT,
        index_version=version.number,
    )


def plan_retire(item: KnowledgeItem) -> Transition:
    """Any state but retired → retired; a live version leaves the index.

    Raises:
        IllegalTransitionError: the item is already retired.
    """
    check_allowed(item, WorkflowAction.RETIRE)
    return Transition(
        action=WorkflowAction.RETIRE,
        status=_X,
        published_version=None,
        index=IndexEffect.REMOVE if item.live else IndexEffect.NONE,
    )


def plan_rollback(item: KnowledgeItem, target: ItemVersion) -> Transition:
    """A new version with the target's content, published at once.

    Raises:
        IllegalTransitionError: the target was never published, belongs to another item, or is
            the version that is live now.
    """
    check_allowed(item, WorkflowAction.ROLLBACK)
    action = WorkflowAction.ROLLBACK
    if target.item_id != item.id:
        raise IllegalTransitionError(
            item.id, item.status, action, f"version {target.number} belongs to {target.item_id}"
        )
    if not target.was_published:
        raise IllegalTransitionError(
            item.id,
            item.status,
            action,
            f"version {target.number} was never published; only reviewed versions can be "
            "restored (edit from it instead)",
        )
    if item.status is _P and item.published_version == target.number:
        raise IllegalTransitionError(
            item.id, item.status, action, f"version {target.number} is the live version already"
        )
    number = item.current_version + 1
    return Transition(
        action=action,
        status=_P,
        published_version=number,
        new_version=number,
        index=IndexEffect.UPSERT,
        index_version=number,
    )


def applies_on(content: ItemContent, on: date) -> bool:
    """True when content with these dates applies to a policy in force on ``on``.

    The effective date is inclusive and the expiry date exclusive, as for indexed passages.
    """
    if content.effective_date is not None and content.effective_date > on:
        return False
    return content.expiry_date is None or content.expiry_date > on


def check_item_id(item_id: str) -> str:
    """The trimmed id.

    Raises:
        InvalidItemError: empty, longer than 200 characters, or containing whitespace or '#'.
    """
    value = item_id.strip()
    if not ITEM_ID_RE.match(value):
        raise InvalidItemError(
            f"invalid item id {item_id!r}: 1-200 characters without whitespace or '#'"
        )
    return value


def check_content(kind: ItemKind, content: ItemContent) -> None:
    """Refuse content that cannot serve as this kind.

    Raises:
        InvalidItemError: an indexed kind without text, or another kind with neither text nor data;
            a labelled utterance, script, term or compliance rule whose fields its consumer could
            not use (naming the field and what it needs).
    """
    if kind.indexed and not content.text.strip():
        raise InvalidItemError(f"a {kind.value} needs text: it is what agents and the chatbot cite")
    if not kind.indexed and not content.text.strip() and not content.data:
        raise InvalidItemError(f"a {kind.value} needs text or data fields")
    if kind is ItemKind.UTTERANCE:
        _check_utterance(content)
    elif kind is ItemKind.SCRIPT:
        _check_script(content)
    elif kind is ItemKind.TERM_MAP:
        _check_term(content)
    elif kind is ItemKind.COMPLIANCE_RULE:
        _check_rule(content)


def split_terms(value: str) -> list[str]:
    """A term's formal synonyms from its ``synonyms`` field: separated by spaces, commas or 、,
    each once, in order (the same separators as ``data/terms/synonyms.tsv``)."""
    return list(dict.fromkeys(t for t in _TERM_SEPARATORS.split(value) if t))


def numbered_values(data: Mapping[str, str], name: str) -> list[str]:
    """The non-blank values of ``name``, ``name01``, ``name02``, ... in number order (a rule's
    patterns and exceptions); ``name`` alone counts as number 0."""
    numbered: list[tuple[int, str]] = []
    for key, value in data.items():
        match = _NUMBERED_KEY.match(key)
        if match and match.group(1) == name and value.strip():
            numbered.append((int(match.group(2) or 0), value))
    return [value for _, value in sorted(numbered, key=lambda pair: pair[0])]


def _check_utterance(content: ItemContent) -> None:
    if not content.text.strip():
        raise InvalidItemError("a labelled utterance needs the caller's words as text")
    label = content.data.get("label", "")
    if label not in {e.value for e in Emotion}:
        allowed = ", ".join(e.value for e in Emotion)
        raise InvalidItemError(f"utterance label {label!r} is not one of: {allowed}")
    if content.data.get("split", "train") not in ("train", "dev"):
        raise InvalidItemError("utterance split must be 'train' or 'dev'")


def _check_fields(
    what: str, data: Mapping[str, str], fields: frozenset[str], lists: tuple[str, ...] = ()
) -> None:
    """Refuse data keys the kind does not have (a typo would otherwise be silently ignored)."""

    def known(key: str) -> bool:
        match = _NUMBERED_KEY.match(key)
        return key in fields or (match is not None and match.group(1) in lists)

    unknown = [key for key in sorted(data) if not known(key)]
    if unknown:
        expected = [*sorted(fields), *(f"{name}01, {name}02, ..." for name in lists)]
        raise InvalidItemError(
            f"a {what} has no field {', '.join(repr(k) for k in unknown)}; "
            f"its fields are: {', '.join(expected)}"
        )


def _check_script(content: ItemContent) -> None:
    _check_fields("script", content.data, SCRIPT_FIELDS)
    if not content.text.strip():
        raise InvalidItemError("a script needs the words the agent says as text")
    if not content.data.get("scene", "").strip():
        raise InvalidItemError(
            "a script needs a scene: the situation it fits, e.g. 'scene: flood' "
            "(or 'scene: general' for any situation)"
        )
    emotion = content.data.get("emotion", "any")
    if emotion not in SCRIPT_EMOTIONS:
        raise InvalidItemError(
            f"script emotion {emotion!r} is not one of: {', '.join(SCRIPT_EMOTIONS)}"
        )


def _check_term(content: ItemContent) -> None:
    _check_fields("term", content.data, TERM_FIELDS)
    term = content.text.strip()
    if not term:
        raise InvalidItemError(
            "a term needs the colloquial expression (how callers say it) as text"
        )
    if _TERM_SEPARATORS.search(term) or "#" in term:
        raise InvalidItemError(f"a term is one expression without spaces, commas or '#': {term!r}")
    if not split_terms(content.data.get("synonyms", "")):
        raise InvalidItemError(
            f"the term {term!r} needs synonyms: the formal clause terms it stands for, "
            "separated by spaces (e.g. 'synonyms: 涉水 水淹')"
        )


def _check_rule(content: ItemContent) -> None:
    data = content.data
    _check_fields("compliance rule", data, RULE_FIELDS, RULE_LISTS)
    if not content.text.strip():
        raise InvalidItemError(
            "a compliance rule needs its reason as text: why the agent must not say it"
        )
    category = data.get("category", "")
    if category not in {c.value for c in RuleCategory}:
        allowed = ", ".join(c.value for c in RuleCategory)
        raise InvalidItemError(f"compliance rule category {category!r} is not one of: {allowed}")
    severity = data.get("severity", "")
    if severity not in {s.value for s in Severity}:
        allowed = ", ".join(s.value for s in Severity)
        raise InvalidItemError(f"compliance rule severity {severity!r} is not one of: {allowed}")
    if not data.get("rewrite", "").strip():
        raise InvalidItemError(
            "a compliance rule needs a rewrite: a compliant way of saying it, offered instead"
        )
    patterns = numbered_values(data, "pattern")
    if not patterns:
        raise InvalidItemError(
            "a compliance rule needs at least one pattern: 'pattern01: <regular expression>'"
        )
    for name, effect in (("pattern", "flag every sentence"), ("unless", "silence the rule")):
        for pattern in numbered_values(data, name):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise InvalidItemError(
                    f"{name} {pattern!r} is not a valid regular expression: {exc}"
                ) from exc
            if compiled.search("") is not None:
                raise InvalidItemError(
                    f"{name} {pattern!r} matches empty text, so it would {effect}"
                )


def check_note(note: str) -> str:
    """The trimmed note.

    Raises:
        InvalidItemError: longer than 2000 characters.
    """
    value = note.strip()
    if len(value) > MAX_NOTE_CHARS:
        raise InvalidItemError(f"a note must have at most {MAX_NOTE_CHARS} characters")
    return value
