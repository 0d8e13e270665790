"""The passage catalog in SQL (SQLite by default, PostgreSQL when configured).

It records every indexed passage and chunk with its content hash, and which Chroma collection is
live. Changes are committed in one transaction, after the new collection is complete.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    select,
)

from core.models import Chunk, Passage

metadata = MetaData()

passages_table = Table(
    "kb_passages",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(20), nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
)

chunks_table = Table(
    "kb_chunks",
    metadata,
    Column("id", String(220), primary_key=True),
    Column("passage_id", String(200), ForeignKey("kb_passages.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("text", Text, nullable=False),
)

state_table = Table(
    "kb_index_state",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

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


class KnowledgeCatalog:
    """SQL-backed record of indexed passages and chunks."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        """Create the tables if they do not exist."""
        metadata.create_all(self._engine)

    def exists(self) -> bool:
        """True when the catalog tables exist and name a live collection."""
        if not inspect(self._engine).has_table(state_table.name):
            return False
        return self.state(ACTIVE_COLLECTION) is not None

    def state(self, key: str) -> str | None:
        """One index-state value, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(state_table.c.value).where(state_table.c.key == key)).first()
        return row[0] if row else None

    def hashes(self) -> dict[str, tuple[str, str]]:
        """Passage id -> (content hash, source) for every catalogued passage."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(passages_table.c.id, passages_table.c.content_hash, passages_table.c.source)
            )
            return {row.id: (row.content_hash, row.source) for row in rows}

    def passages(self) -> list[Passage]:
        """Every catalogued passage, ordered by id."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(passages_table.c.payload).order_by(passages_table.c.id))
            return [Passage.model_validate_json(row.payload) for row in rows]

    def chunks(self) -> list[Chunk]:
        """Every catalogued chunk, ordered by passage and sequence."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(chunks_table).order_by(chunks_table.c.passage_id, chunks_table.c.seq)
            )
            return [Chunk(id=r.id, passage_id=r.passage_id, seq=r.seq, text=r.text) for r in rows]

    def apply(self, change: CatalogChange) -> None:
        """Write a change in one transaction: all of it or none of it."""
        with self._engine.begin() as conn:
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
