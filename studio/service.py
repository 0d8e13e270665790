"""The trainer studio's service layer: create, edit, review, publish, retire and roll back items.

Every method takes the acting ``User`` and checks their role first (``accounts.permissions``), then
the workflow rule (``studio.workflow``), then writes. A state change, its new version and its
audit entry commit in one SQL transaction.

Publishing touches two stores: the retrieval index (through ``IngestService.apply_items``, itself
atomic) and the item tables. The index is updated first and the item marked afterwards, so a
failed index update leaves the item exactly as it was. If marking then fails (a concurrent change,
a database error), the item's live version is put back into the index; should that fail too, an
``kb.index_out_of_sync`` audit entry says so and ``reconcile_index`` repairs it. Index changes
are serialised within the process (one service instance serves every Streamlit session); an
ingest run from another process at the same moment is not guarded against.

Only clause, case and FAQ items reach the index. Scripts, term maps, compliance rules and labelled
utterances go through the same workflow and versions but are never indexed: their consumers read
the published versions from here (``studio.overlays``, ``studio.utterances``). Every publish,
retire and rollback adds one to the published-content generation in its transaction
(``db.generation``), so every process serves the change from its next request, without a restart.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from accounts.models import User
from accounts.permissions import Action, PermissionDeniedError, require, roles_for
from accounts.store import AccountStore, UserNotFoundError
from audit.log import AuditLog
from core.errors import PolicyDeskError, describe_validation_error
from core.models import IngestReport, Passage
from core.numerals import chinese_to_int
from db.generation import bump_generation
from sentiment.scripts import unknown_scenes
from studio.diff import ContentDiff, diff_contents
from studio.items import (
    ItemContent,
    ItemDetail,
    ItemKind,
    ItemQuery,
    ItemStatus,
    ItemSummary,
    ItemVersion,
    KnowledgeItem,
    PassageContent,
    ScriptContent,
    SeedReport,
    checked,
    to_passage,
)
from studio.repository import KnowledgeRepository
from studio.workflow import (
    IndexEffect,
    InvalidItemError,
    Transition,
    check_item_id,
    check_kind,
    check_note,
    plan_edit,
    plan_publish,
    plan_request_changes,
    plan_retire,
    plan_rollback,
    plan_submit,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection


logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
_ARTICLE_RE = re.compile(r"^第([零〇一二三四五六七八九十百千两\d]+)条$")


class IndexWriter(Protocol):
    """What the studio needs from ingest: an atomic, incremental upsert/remove by passage id."""

    def apply_items(
        self, upserts: Sequence[Passage], removals: Sequence[str] = ()
    ) -> IngestReport: ...


class IndexUpdateError(PolicyDeskError):
    """The retrieval index could not be updated; the item was left as it was."""


class VersionDiff(BaseModel):
    """Two versions of one item compared."""

    item_id: str
    before: int
    after: int
    diff: ContentDiff


class SeedEntry(BaseModel):
    """One already-serving piece of content to register as a published item."""

    item_id: str
    content: ItemContent
    source: str = ""

    @property
    def kind(self) -> ItemKind:
        """What the item is: its content's kind."""
        return self.content.kind


T = TypeVar("T")


def seed_entries_from(
    records: Iterable[T],
    item_id: Callable[[T], str],
    content: Callable[[T], ItemContent],
    source: str,
) -> list[SeedEntry]:
    """Seed entries for the records of a shipped file.

    Args:
        records: the file's records, in file order.
        item_id: a record's item id.
        content: a record's item content.
        source: the file, for the version note.

    Raises:
        InvalidItemError: a record the content models refuse; names it, the file and why.
    """
    entries = []
    for record in records:
        record_id = item_id(record)
        try:
            entries.append(SeedEntry(item_id=record_id, content=content(record), source=source))
        except ValidationError as exc:
            raise InvalidItemError(
                f"{source}: {record_id} cannot be a studio item: {describe_validation_error(exc)}"
            ) from exc
    return entries


def edit_action(kind: ItemKind) -> Action:
    """The permission creating or editing an item of this kind needs."""
    return Action.MANAGE_UTTERANCES if kind is ItemKind.UTTERANCE else Action.EDIT_KB


def suggest_item_id(kind: ItemKind, content: ItemContent) -> str:
    """An id for a new item: ``<doc_id>-<n>`` for article ``第n条`` of a document (as the importer
    names it), otherwise the kind and a random suffix."""
    if isinstance(content, PassageContent):
        match = _ARTICLE_RE.match(content.article.strip())
        if content.doc_id and match:
            candidate = f"{content.doc_id.strip()}-{chinese_to_int(match.group(1))}"
            try:
                return check_item_id(candidate)
            except InvalidItemError:
                pass  # a doc_id with spaces: fall back to a generated id
    return f"{kind.value}-{secrets.token_hex(5)}"


def _detail(version: int, note: str, extra: str = "") -> str:
    parts = [f"v{version}"] + ([extra] if extra else [])
    return " ".join(parts) + (f": {note}" if note else "")


class StudioService:
    """Curates knowledge items through versions, review and publishing.

    Args:
        repository: the item tables.
        audit: the audit log (entries are written in the same transaction as each change).
        ingest: the index writer (``knowledge.ingest.IngestService``).
        accounts: when given, the acting user is re-read on each call, so a deactivated account or
            a removed role takes effect at once even for a session that logged in before.
        clock: the time source (tests pin it).
    """

    def __init__(
        self,
        repository: KnowledgeRepository,
        audit: AuditLog,
        ingest: IndexWriter,
        accounts: AccountStore | None = None,
        clock: Callable[[], datetime] | None = None,
        situations: Sequence[str] | None = None,
    ) -> None:
        """
        Args:
            repository: items and versions.
            audit: the audit log.
            ingest: the retrieval index writer.
            accounts: users, for roles.
            clock: the time source.
            situations: the cue book's situations: a script is published (or rolled back to)
                only when its situation is one of them or ``general``. None skips the check.
        """
        self._situations = None if situations is None else list(situations)
        self._repo = repository
        self._audit = audit
        self._index = ingest
        self._accounts = accounts
        self._clock = clock or (lambda: datetime.now(UTC))
        # one index switch at a time in this process: two concurrent switches would each start
        # from the same live collection and the later one would drop the earlier one's passage
        self._serving = threading.RLock()

    # ----------------------------------------------------------------------------- reading

    def search(self, user: User, query: ItemQuery | None = None) -> list[ItemSummary]:
        """Items matching the filters (kind, status, product, effective date, text, live).

        Raises:
            PermissionDeniedError: the user may not view the knowledge base.
        """
        self._authorise(user, Action.VIEW_KB)
        return self._repo.summaries(query or ItemQuery())

    def get(self, user: User, item_id: str) -> ItemDetail:
        """An item with all its versions.

        Raises:
            PermissionDeniedError: the user may not view the knowledge base.
            ItemNotFoundError: no such id.
        """
        self._authorise(user, Action.VIEW_KB)
        return self._repo.detail(item_id)

    def diff(self, user: User, item_id: str, before: int, after: int) -> VersionDiff:
        """Two versions of an item compared field by field, the text side by side.

        Raises:
            PermissionDeniedError: the user may not view the knowledge base.
            ItemNotFoundError: no such id.
            VersionNotFoundError: either version does not exist.
        """
        self._authorise(user, Action.VIEW_KB)
        self._repo.get_item(item_id)
        old = self._repo.version(item_id, before)
        new = self._repo.version(item_id, after)
        return VersionDiff(
            item_id=item_id,
            before=before,
            after=after,
            diff=diff_contents(old.content, new.content),
        )

    def preview_passage(
        self, user: User, item_id: str, version: int | None = None
    ) -> Passage | None:
        """The passage a version (the latest by default) would be indexed as, for previewing
        retrieval before publishing; None for kinds that are not indexed.

        Raises:
            PermissionDeniedError: the user may not view the knowledge base.
            ItemNotFoundError: no such id.
            VersionNotFoundError: no such version.
        """
        self._authorise(user, Action.VIEW_KB)
        item = self._repo.get_item(item_id)
        return to_passage(item, self._repo.version(item_id, version or item.current_version))

    # ----------------------------------------------------------------------------- authoring

    def create(
        self,
        user: User,
        kind: ItemKind,
        content: ItemContent,
        note: str = "",
        item_id: str | None = None,
    ) -> KnowledgeItem:
        """A new item in draft with its first version.

        Args:
            user: the author.
            kind: what the item is.
            content: its first version (validated when it was built); a record it holds takes
                the item's id.
            note: why it was made.
            item_id: the id; by default ``<doc_id>-<n>`` for a numbered article, else generated.

        Raises:
            PermissionDeniedError: the user may not edit items of this kind.
            InvalidItemError: a bad id or note, content of another kind, or content that does not
                validate (built with ``model_copy``, which skips validation).
            DuplicateItemError: the id is taken.
        """
        actor = self._authorise(user, edit_action(kind))
        note = check_note(note)
        new_id = check_item_id(item_id) if item_id is not None else suggest_item_id(kind, content)
        check_kind(kind, content)
        content = checked(content.for_item(new_id), f"the content of {new_id}")
        now = self._clock()
        item = KnowledgeItem(
            id=new_id,
            kind=kind,
            status=ItemStatus.DRAFT,
            current_version=1,
            created_by=actor.username,
            created_at=now,
            updated_at=now,
        )
        first = ItemVersion(
            item_id=new_id,
            number=1,
            content=content,
            author=actor.username,
            at=now,
            note=note,
            status=ItemStatus.DRAFT,
        )
        with self._repo.transaction() as conn:
            self._repo.insert_item(conn, item, first)
            self._audit.record(
                actor.username, "kb.create", new_id, _detail(1, note, kind.value), connection=conn
            )
        return item

    def edit(self, user: User, item_id: str, content: ItemContent, note: str = "") -> KnowledgeItem:
        """A new version in draft. A published version keeps serving until the new one is
        published; an item in review is withdrawn from review.

        Raises:
            PermissionDeniedError: the user may not edit items of this kind.
            ItemNotFoundError: no such id.
            IllegalTransitionError: the item is retired.
            InvalidItemError: a bad note, content of another kind or that does not validate, or
                no change at all.
            ConcurrentChangeError: someone else changed the item meanwhile.
        """
        item = self._repo.get_item(item_id)
        actor = self._authorise(user, edit_action(item.kind))
        check_kind(item.kind, content)
        content = checked(content.for_item(item.id), f"the content of {item.id}")
        note = check_note(note)
        plan = plan_edit(item)
        latest = self._repo.version(item.id, item.current_version)
        if latest.content == content:
            raise InvalidItemError(
                f"nothing to save: the content is the same as version {latest.number} of {item.id}"
            )
        assert plan.new_version is not None
        now = self._clock()
        version = ItemVersion(
            item_id=item.id,
            number=plan.new_version,
            content=content,
            author=actor.username,
            at=now,
            note=note,
            status=plan.status,
        )
        with self._repo.transaction() as conn:
            # the state first: of two parallel edits the second waits here on the item's row
            # and then finds it changed (ConcurrentChangeError), before writing a version number
            # the first one took
            updated = self._apply(conn, item, plan, now)
            self._repo.add_version(conn, version)
            self._audit.record(
                actor.username, "kb.edit", item.id, _detail(version.number, note), connection=conn
            )
        return updated

    def submit(self, user: User, item_id: str, note: str = "") -> KnowledgeItem:
        """Send a draft to review.

        Raises:
            PermissionDeniedError: the user may not submit for review.
            ItemNotFoundError: no such id.
            IllegalTransitionError: the item is not a draft.
            ConcurrentChangeError: someone else changed the item meanwhile.
        """
        actor = self._authorise(user, Action.SUBMIT_REVIEW)
        note = check_note(note)
        item = self._repo.get_item(item_id)
        plan = plan_submit(item)
        now = self._clock()
        with self._repo.transaction() as conn:
            updated = self._apply(conn, item, plan, now, review_note="")
            self._audit.record(
                actor.username,
                "kb.submit",
                item.id,
                _detail(item.current_version, note),
                connection=conn,
            )
        return updated

    def request_changes(self, user: User, item_id: str, note: str) -> KnowledgeItem:
        """Send an item in review back to draft with a note for its author.

        Raises:
            PermissionDeniedError: the user may not review (publish).
            ItemNotFoundError: no such id.
            IllegalTransitionError: the item is not in review.
            InvalidItemError: the note is blank or too long.
            ConcurrentChangeError: someone else changed the item meanwhile.
        """
        actor = self._authorise(user, Action.PUBLISH)
        note = check_note(note)
        item = self._repo.get_item(item_id)
        plan = plan_request_changes(item, note)
        now = self._clock()
        with self._repo.transaction() as conn:
            updated = self._apply(conn, item, plan, now, review_note=note)
            self._audit.record(
                actor.username,
                "kb.request_changes",
                item.id,
                _detail(item.current_version, note),
                connection=conn,
            )
        return updated

    # ----------------------------------------------------------------------------- serving

    def publish(self, user: User, item_id: str, note: str = "") -> KnowledgeItem:
        """Make the version in review live: index it (incrementally, atomically), then mark it.

        Raises:
            PermissionDeniedError: the user may not publish.
            ItemNotFoundError: no such id.
            IllegalTransitionError: the item is not in review.
            SelfReviewError: the user wrote the version in review.
            IndexUpdateError: the index update failed; nothing was published.
            ConcurrentChangeError: someone else changed the item meanwhile; nothing was published.
        """
        actor = self._authorise(user, Action.PUBLISH)
        note = check_note(note)
        with self._serving:
            item = self._repo.get_item(item_id)
            version = self._repo.version(item.id, item.current_version)
            plan = plan_publish(item, version, actor.username)
            self._check_scene(item.id, version.content)
            now = self._clock()

            def write(conn: Connection) -> KnowledgeItem:
                updated = self._apply(conn, item, plan, now, review_note="")
                self._repo.mark_published(conn, item.id, version.number, actor.username, now)
                self._audit.record(
                    actor.username,
                    "kb.publish",
                    item.id,
                    _detail(version.number, note, f"by {version.author}"),
                    connection=conn,
                )
                return updated

            return self._serve(actor, item, plan, version, "kb.publish", write)

    def _check_scene(self, item_id: str, content: ItemContent) -> None:
        """A script must be for a situation the cue book can tell (else it is never offered,
        or offered for a scene the call is not about).

        Raises:
            InvalidItemError: naming the script, its situation and the known situations.
        """
        if self._situations is None or not isinstance(content, ScriptContent):
            return
        if unknown_scenes([content.script], self._situations):
            known = ", ".join([*self._situations, "general"])
            raise InvalidItemError(
                f"script {item_id} is for situation {content.script.situation!r}, which the cue "
                f"book does not know; use one of: {known}"
            )

    def retire(self, user: User, item_id: str, note: str = "") -> KnowledgeItem:
        """Take an item out of service: its passage leaves the index, then it is marked retired.

        Raises:
            PermissionDeniedError: the user may not retire.
            ItemNotFoundError: no such id.
            IllegalTransitionError: the item is already retired.
            IndexUpdateError: the index update failed; the item still serves.
            ConcurrentChangeError: someone else changed the item meanwhile; nothing changed.
        """
        actor = self._authorise(user, Action.RETIRE)
        note = check_note(note)
        with self._serving:
            item = self._repo.get_item(item_id)
            plan = plan_retire(item)
            now = self._clock()

            def write(conn: Connection) -> KnowledgeItem:
                updated = self._apply(conn, item, plan, now)
                self._audit.record(
                    actor.username,
                    "kb.retire",
                    item.id,
                    _detail(item.current_version, note),
                    connection=conn,
                )
                return updated

            return self._serve(actor, item, plan, None, "kb.retire", write)

    def rollback(self, user: User, item_id: str, version: int, note: str = "") -> KnowledgeItem:
        """Restore an earlier published version: a new version with its content, live at once.

        A reviewer's emergency action (also restoring a retired item); the restored content was
        reviewed when it was first published, so no second reviewer is needed.

        Raises:
            PermissionDeniedError: the user may not roll back.
            ItemNotFoundError: no such id.
            VersionNotFoundError: no such version.
            IllegalTransitionError: the version was never published, or is live already.
            IndexUpdateError: the index update failed; nothing changed.
            ConcurrentChangeError: someone else changed the item meanwhile; nothing changed.
        """
        actor = self._authorise(user, Action.ROLLBACK)
        note = check_note(note)
        with self._serving:
            item = self._repo.get_item(item_id)
            target = self._repo.version(item.id, version)
            plan = plan_rollback(item, target)
            self._check_scene(item.id, target.content)
            assert plan.new_version is not None
            now = self._clock()
            restored = ItemVersion(
                item_id=item.id,
                number=plan.new_version,
                content=target.content,
                author=actor.username,
                at=now,
                note=f"rollback to v{target.number}" + (f": {note}" if note else ""),
                status=plan.status,
                published_by=actor.username,
                published_at=now,
            )

            def write(conn: Connection) -> KnowledgeItem:
                updated = self._apply(conn, item, plan, now, review_note="")  # state first: edit
                self._repo.add_version(conn, restored)
                self._audit.record(
                    actor.username,
                    "kb.rollback",
                    item.id,
                    _detail(restored.number, note, f"from v{target.number}"),
                    connection=conn,
                )
                return updated

            return self._serve(actor, item, plan, restored, "kb.rollback", write)

    # ----------------------------------------------------------------------------- set-up, repair

    def seed_published(self, passages: Sequence[Passage], author: str = SYSTEM_ACTOR) -> SeedReport:
        """Register already-indexed passages as published items, without touching the index.

        For the demo knowledge base ingested from files (``policydesk ingest data/clauses
        data/cases``): each passage becomes an item whose version 1 is published, authored and
        published by ``author``. Ids registered already are skipped, so seeding is repeatable.

        Raises:
            InvalidItemError: a passage id is not a valid item id, or appears twice.
        """
        return self.seed_contents(
            [
                SeedEntry(item_id=p.id, content=PassageContent.from_passage(p), source=p.source)
                for p in passages
            ],
            author,
        )

    def seed_contents(self, entries: Sequence[SeedEntry], author: str = SYSTEM_ACTOR) -> SeedReport:
        """Register content that already serves (seed files) as published items.

        Nothing is indexed: indexed kinds must already be in the index (see ``seed_published``);
        other kinds are read by their consumers from the published versions. Ids registered
        already are skipped, so seeding is repeatable.

        Raises:
            InvalidItemError: an invalid id, an id twice, or content that does not validate.
        """
        counts = Counter(check_item_id(e.item_id) for e in entries)
        twice = sorted(i for i, n in counts.items() if n > 1)
        if twice:
            raise InvalidItemError(f"ids appear more than once: {twice}")
        # every entry is checked before the first is written
        contents = {e.item_id: checked(e.content.for_item(e.item_id), e.item_id) for e in entries}
        existing = self._repo.existing_ids(counts)
        now = self._clock()
        added = 0
        with self._repo.transaction() as conn:
            for entry in entries:
                if entry.item_id in existing:
                    continue
                item = KnowledgeItem(
                    id=entry.item_id,
                    kind=entry.kind,
                    status=ItemStatus.PUBLISHED,
                    current_version=1,
                    published_version=1,
                    created_by=author,
                    created_at=now,
                    updated_at=now,
                )
                first = ItemVersion(
                    item_id=entry.item_id,
                    number=1,
                    content=contents[entry.item_id],
                    author=author,
                    at=now,
                    note=f"seeded from {entry.source}" if entry.source else "seeded",
                    status=ItemStatus.PUBLISHED,
                    published_by=author,
                    published_at=now,
                )
                self._repo.insert_item(conn, item, first)
                added += 1
            report = SeedReport(added=added, skipped=len(entries) - added)
            self._audit.record(
                author,
                "kb.seed",
                "kb",
                f"{report.added} published items registered, {report.skipped} already known",
                connection=conn,
            )
        return report

    def live_contents(self, kind: ItemKind) -> list[tuple[str, ItemContent]]:
        """(id, published content) of every live item of a kind, for the consumers of
        non-indexed kinds (the emotion trainer reads published utterances this way). Content
        the current models refuse (stored before a check existed) is logged and skipped."""
        live = self._repo.live_contents(kind)
        for item_id, problem in sorted(live.unreadable.items()):
            logger.warning(
                "published %s %s cannot serve and is ignored: %s", kind, item_id, problem
            )
        return list(live.contents.items())  # in id order

    def reconcile_index(self, user: User) -> IngestReport:
        """Make the index serve exactly the studio's live versions: upsert every live clause, case
        and FAQ item, remove retired ones. Unchanged passages are not re-embedded; passages the
        studio does not manage are left alone.

        Raises:
            PermissionDeniedError: the user may not publish.
            IndexUpdateError: the index update failed; the index is unchanged.
        """
        actor = self._authorise(user, Action.PUBLISH)
        with self._serving:
            upserts = [
                p
                for kind in ItemKind
                if kind.indexed
                for item, version in self._repo.live_versions(kind)
                if (p := to_passage(item, version))
            ]
            try:
                report = self._index.apply_items(upserts, self._repo.retired_ids())
            except Exception as exc:
                raise IndexUpdateError(f"reconciling the search index failed: {exc}") from exc
        self._audit.record(
            actor.username,
            "kb.reconcile",
            "kb",
            f"{report.added} added, {report.updated} updated, {report.removed} removed",
        )
        return report

    # ----------------------------------------------------------------------------- internals

    def _authorise(self, user: User, action: Action) -> User:
        current = user
        if self._accounts is not None:
            try:
                current = self._accounts.get(user.username)
            except UserNotFoundError:
                raise PermissionDeniedError(
                    user.username, action, roles_for(action), reason="the account does not exist"
                ) from None
        require(current, action)
        return current

    def _apply(
        self,
        conn: Connection,
        item: KnowledgeItem,
        plan: Transition,
        now: datetime,
        review_note: str | None = None,
    ) -> KnowledgeItem:
        updated = item.model_copy(
            update={
                "status": plan.status,
                "current_version": plan.new_version or item.current_version,
                "published_version": plan.published_version,
                "updated_at": now,
                "review_note": item.review_note if review_note is None else review_note,
            }
        )
        self._repo.update_item(conn, item, updated)
        return updated

    def _serve(
        self,
        actor: User,
        item: KnowledgeItem,
        plan: Transition,
        version: ItemVersion | None,
        action: str,
        write: Callable[[Connection], KnowledgeItem],
    ) -> KnowledgeItem:
        """Update the index first, then write the state change in one transaction; if the write
        fails, put the index back to what the stored state says serves."""
        changed_index = self._update_index(actor, item, plan, version, action)
        try:
            with self._repo.transaction() as conn:
                updated = write(conn)
                bump_generation(conn)  # every process serves the change from its next request
                return updated
        except BaseException:
            if changed_index:
                self._restore_index(item)
            raise

    def _update_index(
        self,
        actor: User,
        item: KnowledgeItem,
        plan: Transition,
        version: ItemVersion | None,
        action: str,
    ) -> bool:
        """Apply a transition's index effect (True when there was one).

        Raises:
            IndexUpdateError: the update failed (audited as ``<action>_failed``).
        """
        if not item.kind.indexed or plan.index is IndexEffect.NONE:
            return False
        try:
            if plan.index is IndexEffect.UPSERT:
                assert version is not None
                passage = to_passage(item, version)
                assert passage is not None
                self._index.apply_items([passage])
            else:
                self._index.apply_items([], [item.id])
        except Exception as exc:
            self._audit.record(actor.username, f"{action}_failed", item.id, f"index update: {exc}")
            raise IndexUpdateError(
                f"cannot {action.removeprefix('kb.')} item {item.id}: updating the search index "
                f"failed ({exc}); the item was left as it was"
            ) from exc
        return True

    def _restore_index(self, before: KnowledgeItem) -> None:
        """Put the index back to what the stored item says serves, after a failed state write."""
        try:
            item = self._repo.find_item(before.id) or before
            if item.published_version is not None:
                passage = to_passage(item, self._repo.version(item.id, item.published_version))
                self._index.apply_items([passage] if passage else [])
            else:
                self._index.apply_items([], [item.id])
        except Exception as exc:
            self._audit.record(
                SYSTEM_ACTOR,
                "kb.index_out_of_sync",
                before.id,
                f"restoring the index after a failed change failed ({exc}); run reconcile_index",
            )
