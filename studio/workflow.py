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

from collections.abc import Mapping
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from core.errors import PolicyDeskError
from studio.items import (
    ITEM_ID_RE,
    InvalidItemError,
    ItemContent,
    ItemKind,
    ItemStatus,
    ItemVersion,
    KnowledgeItem,
    PassageContent,
)

MAX_NOTE_CHARS = 2000


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

    The effective date is inclusive and the expiry date exclusive, as for indexed passages; only
    passages have dates, so every other kind applies on every date.
    """
    if not isinstance(content, PassageContent):
        return True
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


def check_kind(kind: ItemKind, content: ItemContent) -> None:
    """Refuse content of another kind than the item's (the content validated itself when built).

    Raises:
        InvalidItemError: naming both kinds.
    """
    if content.kind is not kind:
        raise InvalidItemError(f"a {kind.value} item cannot hold {content.kind.value} content")


def check_note(note: str) -> str:
    """The trimmed note.

    Raises:
        InvalidItemError: longer than 2000 characters.
    """
    value = note.strip()
    if len(value) > MAX_NOTE_CHARS:
        raise InvalidItemError(f"a note must have at most {MAX_NOTE_CHARS} characters")
    return value
