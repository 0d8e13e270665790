"""Trainer workflows that span stores: saving an import as drafts, previewing a draft's effect.

``StudioService`` owns the item lifecycle; this module composes it with the importer and the live
retriever for the two things a trainer does around it:

- save a checked import preview as draft items (a re-imported article becomes a new version of
  its item), all validated before the first row is written;
- preview how retrieval would answer with unpublished drafts: the live ranking with the drafts
  placed by their semantic similarity to the question (see ``merge_drafts``), for one question or
  for the whole golden set, before anything is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from accounts.models import User
from core.errors import PolicyDeskError
from core.models import Hit, Passage, SearchRequest
from knowledge.chunking import chunk_passage
from retrieval.embedder import Embedder
from retrieval.retriever import HybridRetriever
from studio.golden_eval import Search, search_in_batches
from studio.importer import ImportPreview
from studio.items import ItemKind, ItemQuery, ItemStatus, KnowledgeItem, PassageContent
from studio.repository import ItemNotFoundError
from studio.service import StudioService


class ImportSaveError(PolicyDeskError):
    """An import preview cannot be saved; nothing was written."""


class SavedImport(BaseModel):
    """What saving an import did."""

    created: list[str] = Field(default_factory=list, description="new draft items")
    revised: list[str] = Field(default_factory=list, description="existing items, new version")
    unchanged: list[str] = Field(default_factory=list, description="same content as now")


def save_import(
    studio: StudioService, user: User, preview: ImportPreview, note: str = ""
) -> SavedImport:
    """Save every article of a (possibly fixed) preview as a draft item.

    Args:
        studio: the item service.
        user: the trainer importing.
        preview: the preview the trainer checked.
        note: the version note (default: "imported from <file>").

    Returns:
        The ids created, revised and left unchanged.

    Raises:
        ImportSaveError: no articles, or an article cannot become an item (named); nothing is saved.
        PermissionDeniedError: the user may not edit the knowledge base.
    """
    passages = preview.passages()
    if not passages:
        raise ImportSaveError(f"{preview.filename}: no articles to save")
    note = note or f"imported from {preview.filename}"
    # what to do with each article, decided (and validated) before anything is written
    plan: list[tuple[Passage, PassageContent, Literal["create", "edit", "same"]]] = []
    for passage in passages:
        try:
            content = PassageContent.from_passage(passage)
        except ValueError as exc:
            raise ImportSaveError(f"{preview.filename}, {passage.id}: {exc}") from exc
        try:
            existing = studio.get(user, passage.id)
        except ItemNotFoundError:
            plan.append((passage, content, "create"))
            continue
        if existing.item.kind.passage_kind is not passage.kind:
            raise ImportSaveError(
                f"{preview.filename}, {passage.id}: an item with this id exists as "
                f"{existing.item.kind.value}, not {passage.kind.value}"
            )
        if existing.item.status is ItemStatus.RETIRED:
            raise ImportSaveError(
                f"{preview.filename}, {passage.id}: the item is retired; roll it back or import "
                "the article under a new id"
            )
        plan.append((passage, content, "same" if existing.current.content == content else "edit"))
    saved = SavedImport()
    for passage, content, step in plan:
        if step == "create":
            studio.create(user, ItemKind(passage.kind.value), content, note, item_id=passage.id)
            saved.created.append(passage.id)
        elif step == "edit":
            studio.edit(user, passage.id, content, note)
            saved.revised.append(passage.id)
        else:
            saved.unchanged.append(passage.id)
    return saved


class PreviewHit(BaseModel):
    """One entry of a preview ranking."""

    hit: Hit
    draft: bool = Field(description="an unpublished draft, not the live version")


def merge_drafts(
    live: Sequence[Hit], drafts: Sequence[tuple[Hit, float]], k: int
) -> list[PreviewHit]:
    """Place drafts into a live ranking by their best-chunk cosine with the question (pure).

    A draft replaces the live passage with the same id; it is inserted before the first live hit
    whose dense score is lower than its own (live hits without a dense score are kept in order).

    Args:
        live: the live hits, best first.
        drafts: (draft hit, cosine of its best chunk with the question).
        k: how many entries to return.

    Returns:
        The merged ranking, at most ``k`` entries.
    """
    replaced = {hit.id for hit, _ in drafts}
    merged = [PreviewHit(hit=h, draft=False) for h in live if h.id not in replaced]
    for hit, cosine in sorted(drafts, key=lambda d: -d[1]):
        at = next(
            (
                i
                for i, entry in enumerate(merged)
                if not entry.draft
                and entry.hit.dense_score is not None
                and entry.hit.dense_score < cosine
            ),
            len(merged),
        )
        merged.insert(
            at, PreviewHit(hit=hit.model_copy(update={"dense_score": cosine}), draft=True)
        )
    return merged[:k]


class DraftPreview:
    """Search the live index as if some drafts were published (an approximation, see module)."""

    def __init__(
        self,
        retriever: HybridRetriever,
        embedder: Embedder,
        drafts: Sequence[Passage],
        chunk_chars: int,
        chunk_overlap: int,
    ) -> None:
        self._retriever = retriever
        self._embedder = embedder
        self._drafts = list(drafts)
        chunks = [
            (p, c) for p in self._drafts for c in chunk_passage(p, chunk_chars, chunk_overlap)
        ]
        self._owners = [p.id for p, _ in chunks]
        self._vectors = (
            embedder.embed_passages([c.text for _, c in chunks]) if chunks else np.zeros((0, 1))
        )

    def search(self, query: str, k: int = 5) -> list[PreviewHit]:
        """The preview ranking for one question."""
        return self._ranked(query, self._retriever.embed_query(query), k)

    def _ranked(self, query: str, vector: np.ndarray, k: int) -> list[PreviewHit]:
        live = self._retriever.search(SearchRequest(query=query, k=max(k, 10)), vector).hits
        if not self._drafts:
            return [PreviewHit(hit=h, draft=False) for h in live[:k]]
        cosines = self._vectors @ vector
        best: dict[str, float] = {}
        for owner, cosine in zip(self._owners, cosines, strict=True):
            best[owner] = max(best.get(owner, -1.0), float(cosine))
        drafts = [(Hit.from_passage(p, 0.0), best.get(p.id, -1.0)) for p in self._drafts]
        return merge_drafts(live, drafts, k)

    def _embed_queries(self, questions: list[str]) -> np.ndarray:
        # what ``embed_query`` gives each question, in one encoder call
        return self._embedder.embed_queries([self._retriever.validate_query(q) for q in questions])

    def searcher(self, k: int = 10) -> Search:
        """A golden-set search function (``run_golden_eval``): each question ranked as ``search``
        ranks it, the questions embedded in batches."""
        return search_in_batches(
            self._embed_queries,
            lambda question, vector: [entry.hit for entry in self._ranked(question, vector, k)],
        )


def draft_passages(studio: StudioService, user: User, item_ids: Sequence[str]) -> list[Passage]:
    """The passages the latest versions of these items would publish (indexed kinds only)."""
    passages = []
    for item_id in item_ids:
        passage = studio.preview_passage(user, item_id)
        if passage is not None:
            passages.append(passage)
    return passages


def unpublished_ids(studio: StudioService, user: User) -> list[str]:
    """Ids of every indexed item whose latest version is not live yet."""
    return unpublished([s.item for s in studio.search(user, ItemQuery(limit=10_000))])


def unpublished(items: Sequence[KnowledgeItem]) -> list[str]:
    """Ids of indexed items whose latest version is not the live one."""
    return [
        i.id
        for i in items
        if i.kind.indexed
        and i.status is not ItemStatus.RETIRED
        and i.published_version != i.current_version
    ]
