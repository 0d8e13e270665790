"""The passage catalog in SQL (SQLite by default, PostgreSQL when configured).

It records every indexed passage and chunk with its content hash, and which Chroma collection is
live. Changes are committed in one transaction, after the new collection is complete.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    delete,
    insert,
    select,
)

from core.models import Chunk, Passage
from db.changes import Change
from db.generation import bump_generation
from db.schema import chunks_table, passages_table, state_table
from db.store import SqlStore

ACTIVE_COLLECTION = "active_collection"
EMBEDDER_FINGERPRINT = "embedder_fingerprint"


class CatalogChange:
    """The new state of some passages: what to write and what to remove, with their chunks."""

    def __init__(
        self,
        upserts: list[tuple[Passage, list[Chunk]]],
        removals: Iterable[str],
        state: dict[str, str],
    ) -> None:
        self.upserts = upserts
        self.removals = list(removals)
        self.state = state


class KnowledgeCatalog(SqlStore):
    """SQL-backed record of indexed passages and chunks."""

    ANNOUNCES = Change.CONTENT  # what serves is built from these rows

    def exists(self) -> bool:
        """True when the catalog names a live collection."""
        return self.state(ACTIVE_COLLECTION) is not None

    def state(self, key: str) -> str | None:
        """One index-state value, or None."""
        with self.reading() as conn:
            row = conn.execute(select(state_table.c.value).where(state_table.c.key == key)).first()
        return row[0] if row else None

    def hashes(self) -> dict[str, tuple[str, str]]:
        """Passage id -> (content hash, source) for every catalogued passage."""
        with self.reading() as conn:
            rows = conn.execute(
                select(passages_table.c.id, passages_table.c.content_hash, passages_table.c.source)
            )
            return {row.id: (row.content_hash, row.source) for row in rows}

    def passages(self) -> list[Passage]:
        """Every catalogued passage, ordered by id."""
        with self.reading() as conn:
            rows = conn.execute(select(passages_table.c.payload).order_by(passages_table.c.id))
            return [Passage.model_validate_json(row.payload) for row in rows]

    def chunks(self) -> list[Chunk]:
        """Every catalogued chunk, ordered by passage and sequence."""
        with self.reading() as conn:
            rows = conn.execute(
                select(chunks_table).order_by(chunks_table.c.passage_id, chunks_table.c.seq)
            )
            return [Chunk(id=r.id, passage_id=r.passage_id, seq=r.seq, text=r.text) for r in rows]

    def apply(self, change: CatalogChange) -> None:
        """Write a change in one transaction: all of it or none of it."""
        with self.transaction() as conn:
            touched = [p.id for p, _ in change.upserts] + change.removals
            for start in range(0, len(touched), 500):
                batch = touched[start : start + 500]
                conn.execute(delete(chunks_table).where(chunks_table.c.passage_id.in_(batch)))
                conn.execute(delete(passages_table).where(passages_table.c.id.in_(batch)))
            if change.upserts:
                conn.execute(
                    insert(passages_table),
                    [
                        {
                            "id": p.id,
                            "kind": p.kind.value,
                            "source": p.source,
                            "content_hash": p.content_hash(),
                            "payload": p.model_dump_json(),
                        }
                        for p, _ in change.upserts
                    ],
                )
                rows = [
                    {"id": c.id, "passage_id": c.passage_id, "seq": c.seq, "text": c.text}
                    for _, chunks in change.upserts
                    for c in chunks
                ]
                if rows:
                    conn.execute(insert(chunks_table), rows)
            for key, value in change.state.items():
                conn.execute(delete(state_table).where(state_table.c.key == key))
                conn.execute(insert(state_table).values(key=key, value=value))
            bump_generation(conn)
