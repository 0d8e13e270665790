"""Curated items and their versions in SQL (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

``kb_items`` holds each item's workflow state; ``kb_item_versions`` every version's content as
JSON (the typed content of ``studio.items``, tagged with its kind), never changed after it is
written except for who published it and when. Writers open one
``transaction()`` and pass its connection to every call, so a state change, its new version and
its audit entry commit together. ``update_item`` is conditional on the state the writer read, so
of two concurrent changes to one item the second fails instead of overwriting the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from core.errors import PolicyDeskError
from db.changes import Change
from db.schema import items_table, versions_table
from db.store import SqlStore
from studio.items import (
    InvalidItemError,
    ItemContent,
    ItemDetail,
    ItemKind,
    ItemQuery,
    ItemStatus,
    ItemSummary,
    ItemVersion,
    KnowledgeItem,
    LiveContents,
    PassageContent,
    parse_content,
)
from studio.workflow import applies_on


class ItemNotFoundError(PolicyDeskError):
    """No item with that id."""


class VersionNotFoundError(PolicyDeskError):
    """The item has no version with that number."""


class DuplicateItemError(PolicyDeskError):
    """An item with that id exists already."""


class ConcurrentChangeError(PolicyDeskError):
    """Someone else changed the item between reading and writing it; reload and try again."""


def _item(row: Any) -> KnowledgeItem:
    return KnowledgeItem(
        id=row.id,
        kind=ItemKind(row.kind),
        status=ItemStatus(row.status),
        current_version=row.current_version,
        published_version=row.published_version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        review_note=row.review_note,
    )


def _content(item_id: str, number: int, raw: Any) -> ItemContent:
    """A stored version's content.

    Raises:
        InvalidItemError: content the current models refuse (stored before a check existed).
    """
    return parse_content(raw, f"the stored content of version {number} of item {item_id}")


def _version(row: Any) -> ItemVersion:
    return ItemVersion(
        item_id=row.item_id,
        number=row.number,
        content=_content(row.item_id, row.number, row.content),
        author=row.author,
        at=row.at,
        note=row.note,
        status=ItemStatus(row.status),
        published_by=row.published_by,
        published_at=row.published_at,
    )


def _unprefixed(row: Any, prefix: str) -> Any:
    # a join of both tables labels one side's columns to keep their names (status) apart
    return SimpleNamespace(
        **{k[len(prefix) :]: v for k, v in row._mapping.items() if k.startswith(prefix)}
    )


def _item_values(item: KnowledgeItem) -> dict[str, object]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "status": item.status.value,
        "current_version": item.current_version,
        "published_version": item.published_version,
        "created_by": item.created_by,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "review_note": item.review_note,
    }


def _version_values(version: ItemVersion) -> dict[str, object]:
    return {
        "item_id": version.item_id,
        "number": version.number,
        "author": version.author,
        "at": version.at,
        "note": version.note,
        "status": version.status.value,
        "content": version.content.model_dump(mode="json"),
        "published_by": version.published_by,
        "published_at": version.published_at,
    }


def matches_text(item_id: str, content: ItemContent, needle: str) -> bool:
    """Case-insensitive substring match over the id and the content's textual fields."""
    wanted = needle.strip().lower()
    if not wanted:
        return True
    return any(wanted in value.lower() for value in [item_id, *content.search_text()])


class KnowledgeRepository(SqlStore):
    """Reads and writes curated items and their versions."""

    ANNOUNCES = Change.CONTENT  # what serves is built from these rows

    def find_item(self, item_id: str, conn: Connection | None = None) -> KnowledgeItem | None:
        """The item, or None."""
        with self.reading(conn) as c:
            row = c.execute(select(items_table).where(items_table.c.id == item_id)).first()
        return _item(row) if row is not None else None

    def get_item(self, item_id: str, conn: Connection | None = None) -> KnowledgeItem:
        """The item.

        Raises:
            ItemNotFoundError: no such id.
        """
        item = self.find_item(item_id, conn)
        if item is None:
            raise ItemNotFoundError(f"no knowledge item {item_id!r}")
        return item

    def versions(self, item_id: str, conn: Connection | None = None) -> list[ItemVersion]:
        """Every version of the item, oldest first (empty for an unknown id)."""
        query = (
            select(versions_table)
            .where(versions_table.c.item_id == item_id)
            .order_by(versions_table.c.number)
        )
        with self.reading(conn) as c:
            return [_version(row) for row in c.execute(query)]

    def version(self, item_id: str, number: int, conn: Connection | None = None) -> ItemVersion:
        """One version.

        Raises:
            VersionNotFoundError: the item has no such version.
        """
        query = select(versions_table).where(
            versions_table.c.item_id == item_id, versions_table.c.number == number
        )
        with self.reading(conn) as c:
            row = c.execute(query).first()
        if row is None:
            raise VersionNotFoundError(f"knowledge item {item_id!r} has no version {number}")
        return _version(row)

    def detail(self, item_id: str) -> ItemDetail:
        """The item with every version, read in one transaction.

        Raises:
            ItemNotFoundError: no such id.
        """
        with self.reading() as conn:
            item = self.get_item(item_id, conn)
            return ItemDetail(item=item, versions=self.versions(item_id, conn))

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these ids are items already."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        with self.reading() as conn:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                found.update(
                    conn.execute(select(items_table.c.id).where(items_table.c.id.in_(batch)))
                    .scalars()
                    .all()
                )
        return found

    def summaries(self, query: ItemQuery) -> list[ItemSummary]:
        """Items matching the query with their latest content, ordered by id.

        Kind, status and liveness filter in SQL; product, date and text filter the content (only
        passages have a product).

        Raises:
            InvalidItemError: a matching item's latest content cannot be read (names it).
        """
        statement = (
            select(items_table, versions_table.c.content)
            .join(
                versions_table,
                and_(
                    versions_table.c.item_id == items_table.c.id,
                    versions_table.c.number == items_table.c.current_version,
                ),
            )
            .order_by(items_table.c.id)
        )
        if query.kind is not None:
            statement = statement.where(items_table.c.kind == query.kind.value)
        if query.status is not None:
            statement = statement.where(items_table.c.status == query.status.value)
        if query.live is True:
            statement = statement.where(items_table.c.published_version.is_not(None))
        elif query.live is False:
            statement = statement.where(items_table.c.published_version.is_(None))
        found: list[ItemSummary] = []
        with self.reading() as conn:
            for row in conn.execute(statement):
                content = _content(row.id, row.current_version, row.content)
                if query.product is not None and not (
                    isinstance(content, PassageContent) and content.product == query.product
                ):
                    continue
                if query.effective_on is not None and not applies_on(content, query.effective_on):
                    continue
                if query.text and not matches_text(row.id, content, query.text):
                    continue
                found.append(ItemSummary(item=_item(row), content=content))
                if len(found) >= query.limit:
                    break
        return found

    def live_versions(
        self, kind: ItemKind | None = None
    ) -> list[tuple[KnowledgeItem, ItemVersion]]:
        """Every item (of a kind) that serves, with its published version, ordered by id."""
        version_columns = [c.label(f"v_{c.name}") for c in versions_table.c]
        statement = (
            select(items_table, *version_columns)
            .join(
                versions_table,
                and_(
                    versions_table.c.item_id == items_table.c.id,
                    versions_table.c.number == items_table.c.published_version,
                ),
            )
            .order_by(items_table.c.id)
        )
        if kind is not None:
            statement = statement.where(items_table.c.kind == kind.value)
        with self.reading() as conn:
            rows = conn.execute(statement).all()
        return [(_item(row), _version(_unprefixed(row, "v_"))) for row in rows]

    def live_contents(self, kind: ItemKind) -> LiveContents:
        """The published content of every live item of a kind; content the current models refuse
        is reported (``unreadable``) instead of raised, so one old version cannot stop the rest
        from serving."""
        statement = (
            select(items_table.c.id, versions_table.c.number, versions_table.c.content)
            .join(
                versions_table,
                and_(
                    versions_table.c.item_id == items_table.c.id,
                    versions_table.c.number == items_table.c.published_version,
                ),
            )
            .where(items_table.c.kind == kind.value)
            .order_by(items_table.c.id)
        )
        found = LiveContents()
        with self.reading() as conn:
            rows = conn.execute(statement).all()
        for row in rows:
            try:
                found.contents[row.id] = _content(row.id, row.number, row.content)
            except InvalidItemError as exc:
                found.unreadable[row.id] = str(exc)
        return found

    def retired_ids(self, kind: ItemKind | None = None) -> list[str]:
        """The ids of retired items (of a kind)."""
        statement = select(items_table.c.id).where(items_table.c.status == ItemStatus.RETIRED.value)
        if kind is not None:
            statement = statement.where(items_table.c.kind == kind.value)
        with self.reading() as conn:
            return list(conn.execute(statement.order_by(items_table.c.id)).scalars())

    def insert_item(self, conn: Connection, item: KnowledgeItem, first: ItemVersion) -> None:
        """Write a new item with its first version.

        Raises:
            DuplicateItemError: the id is taken.
        """
        if self.find_item(item.id, conn) is not None:
            raise DuplicateItemError(f"a knowledge item {item.id!r} exists already")
        try:
            conn.execute(insert(items_table).values(**_item_values(item)))
        except IntegrityError:  # created by someone else since the check
            raise DuplicateItemError(f"a knowledge item {item.id!r} exists already") from None
        self.add_version(conn, first)

    def add_version(self, conn: Connection, version: ItemVersion) -> None:
        """Write a new version (its number must be new for the item).

        Raises:
            ConcurrentChangeError: another writer took that version number meanwhile.
        """
        try:
            conn.execute(insert(versions_table).values(**_version_values(version)))
        except IntegrityError:
            raise ConcurrentChangeError(
                f"version {version.number} of {version.item_id} was written by someone else "
                "meanwhile: reload and try again"
            ) from None

    def update_item(self, conn: Connection, expected: KnowledgeItem, new: KnowledgeItem) -> None:
        """Replace an item's state, provided it is still what the caller read.

        Raises:
            ConcurrentChangeError: the stored state differs from ``expected``.
        """
        published = items_table.c.published_version
        statement = (
            update(items_table)
            .where(
                items_table.c.id == expected.id,
                items_table.c.status == expected.status.value,
                items_table.c.current_version == expected.current_version,
                published.is_(None)
                if expected.published_version is None
                else published == expected.published_version,
            )
            .values(
                status=new.status.value,
                current_version=new.current_version,
                published_version=new.published_version,
                updated_at=new.updated_at,
                review_note=new.review_note,
            )
        )
        if conn.execute(statement).rowcount != 1:
            raise ConcurrentChangeError(
                f"knowledge item {expected.id} was changed by someone else meanwhile; "
                "reload it and try again"
            )

    def mark_published(
        self, conn: Connection, item_id: str, number: int, by: str, at: datetime
    ) -> None:
        """Record who published a version and when."""
        conn.execute(
            update(versions_table)
            .where(versions_table.c.item_id == item_id, versions_table.c.number == number)
            .values(published_by=by, published_at=at)
        )
