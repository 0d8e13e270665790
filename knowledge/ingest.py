"""Incremental, atomic ingest: only changed passages are embedded; a failure keeps the old index.

Each ingest that changes anything builds a new Chroma collection (copying the vectors of unchanged
chunks, embedding the changed ones), then switches the catalog to it in one SQL transaction. Until
that commit, searches keep using the previous collection; after it, the old one is dropped.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from core.models import IngestReport, Passage, PassageKind
from knowledge.catalog import (
    ACTIVE_COLLECTION,
    EMBEDDER_FINGERPRINT,
    CatalogChange,
    KnowledgeCatalog,
)
from knowledge.chunking import chunk_passage
from knowledge.loader import load_sources
from retrieval.chroma_index import COLLECTION_PREFIX, ChromaChunkIndex, chunk_metadata
from retrieval.embedder import Embedder


class IngestService:
    """Loads sources and brings the catalog and the vector index up to date with them."""

    def __init__(
        self,
        catalog: KnowledgeCatalog,
        index: ChromaChunkIndex,
        embedder: Embedder,
        chunk_chars: int,
        chunk_overlap: int,
        embed_batch: int = 64,
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._embedder = embedder
        self._chunk_chars = chunk_chars
        self._chunk_overlap = chunk_overlap
        self._embed_batch = embed_batch

    def ingest(
        self, paths: Sequence[Path], default_kind: PassageKind | None = None
    ) -> IngestReport:
        """Ingest files and folders.

        Passages from these files are added or replaced by id; passages earlier ingested from these
        same files that are gone now are removed; passages from other files stay.

        Raises:
            IngestError: a bad file (nothing is written).
        """
        started = time.perf_counter()
        files, passages = load_sources(paths, default_kind)
        passages = [p.model_copy(update={"source": _source_key(p.source)}) for p in passages]
        return self.apply(passages, [_source_key(str(f)) for f in files], started)

    def apply(
        self, passages: Sequence[Passage], sources: Sequence[str], started: float | None = None
    ) -> IngestReport:
        """Bring the index in line with these passages (replacing everything from ``sources``)."""
        started = started if started is not None else time.perf_counter()
        existing = self._catalog.hashes()
        new_ids = {p.id for p in passages}
        source_set = set(sources)
        removed = [
            pid for pid, (_, src) in existing.items() if src in source_set and pid not in new_ids
        ]
        return self._commit(passages, removed, existing, list(sources), started)

    def apply_items(self, upserts: Sequence[Passage], removals: Sequence[str] = ()) -> IngestReport:
        """Add or replace some passages and remove others by id, whatever source they came from.

        The same incremental, atomic switch as ``apply``: only new or changed passages are
        embedded, and until the catalog commits, searches keep using the previous collection.
        Removing an id that is not indexed does nothing.

        Args:
            upserts: passages to add or replace (by id).
            removals: passage ids to take out of the index.

        Returns:
            What changed; ``files`` is empty.

        Raises:
            ValueError: an id given twice, or both upserted and removed.
        """
        started = time.perf_counter()
        counts = Counter(p.id for p in upserts)
        clashes = sorted({i for i, n in counts.items() if n > 1} | (counts.keys() & set(removals)))
        if clashes:
            raise ValueError(f"passage ids given twice or both upserted and removed: {clashes}")
        existing = self._catalog.hashes()
        removed = [pid for pid in dict.fromkeys(removals) if pid in existing]
        return self._commit(upserts, removed, existing, [], started)

    def _commit(
        self,
        passages: Sequence[Passage],
        removed: list[str],
        existing: dict[str, tuple[str, str]],
        files: list[str],
        started: float,
    ) -> IngestReport:
        """Embed what changed into a new collection and switch the catalog to it atomically."""
        active = self._catalog.state(ACTIVE_COLLECTION)
        # vectors depend on the model and on how passages are cut: either change means re-embedding
        fingerprint = (
            f"{self._embedder.fingerprint}|chunks:{self._chunk_chars}/{self._chunk_overlap}/v2"
        )
        rebuild = (
            active is None
            or not self._index.has(active)
            or self._catalog.state(EMBEDDER_FINGERPRINT) != fingerprint
        )
        new_ids = {p.id for p in passages}
        changed = [
            p for p in passages if rebuild or existing.get(p.id, ("", ""))[0] != p.content_hash()
        ]
        added = sum(1 for p in changed if p.id not in existing)
        report = dict(
            files=files,
            passages=len(passages),
            added=added,
            updated=len(changed) - added,
            removed=len(removed),
            unchanged=len(passages) - len(changed),
        )
        if not changed and not removed:
            return IngestReport(**report, chunks_embedded=0, seconds=time.perf_counter() - started)

        target = f"{COLLECTION_PREFIX}{uuid.uuid4().hex[:16]}"
        self._index.create(target)
        try:
            if not rebuild and active is not None:
                dropped = {p.id for p in changed} | set(removed)
                keep = [c.id for c in self._catalog.chunks() if c.passage_id not in dropped]
                self._index.copy(active, target, keep)
            upserts = [
                (p, chunk_passage(p, self._chunk_chars, self._chunk_overlap)) for p in changed
            ]
            if rebuild and existing:
                # a new embedder: every passage of other sources must be embedded again too
                stale = [
                    p
                    for p in self._catalog.passages()
                    if p.id not in new_ids and p.id not in removed
                ]
                upserts += [
                    (p, chunk_passage(p, self._chunk_chars, self._chunk_overlap)) for p in stale
                ]
            embedded = self._embed_into(target, upserts)
            self._catalog.apply(
                CatalogChange(
                    upserts=upserts,
                    removals=removed,
                    state={ACTIVE_COLLECTION: target, EMBEDDER_FINGERPRINT: fingerprint},
                )
            )
        except BaseException:
            self._index.drop(target)
            raise
        for name in self._index.collections():
            if name != target:
                self._index.drop(name)  # the previous live one and any left by a crashed run
        return IngestReport(
            **report, chunks_embedded=embedded, seconds=time.perf_counter() - started
        )

    def _embed_into(self, collection: str, upserts: list[tuple[Passage, list]]) -> int:
        pairs = [(passage, chunk) for passage, chunks in upserts for chunk in chunks]
        for start in range(0, len(pairs), self._embed_batch):
            batch = pairs[start : start + self._embed_batch]
            vectors = self._embedder.embed_passages([chunk.text for _, chunk in batch])
            self._index.add(
                collection,
                [chunk for _, chunk in batch],
                vectors,
                [chunk_metadata(chunk, passage) for passage, chunk in batch],
            )
        return len(pairs)


def _source_key(source: str) -> str:
    """Sources are recorded as absolute paths so the same file is recognised however it is named."""
    return str(Path(source).resolve()) if source else source
