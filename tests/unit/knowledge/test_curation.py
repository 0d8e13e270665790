"""Placing unpublished drafts into a live ranking (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.models import Hit, PassageKind
from studio.curation import merge_drafts, unpublished
from studio.items import ItemKind, ItemStatus, KnowledgeItem

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _hit(pid: str, dense: float | None) -> Hit:
    return Hit(
        id=pid,
        kind=PassageKind.CLAUSE,
        title=pid,
        citation=pid,
        text="…",
        score=0.5,
        dense_score=dense,
    )


def test_a_draft_goes_before_the_first_live_hit_it_beats() -> None:
    live = [_hit("a", 0.90), _hit("b", 0.86), _hit("c", 0.84)]
    merged = merge_drafts(live, [(_hit("d", 0.0), 0.87)], k=5)
    assert [(e.hit.id, e.draft) for e in merged] == [
        ("a", False),
        ("d", True),
        ("b", False),
        ("c", False),
    ]
    assert merged[1].hit.dense_score == 0.87


def test_a_draft_replaces_its_live_version_and_k_cuts() -> None:
    live = [_hit("a", 0.90), _hit("b", 0.86)]
    merged = merge_drafts(live, [(_hit("b", 0.0), 0.95), (_hit("z", 0.0), 0.10)], k=2)
    assert [(e.hit.id, e.draft) for e in merged] == [("b", True), ("a", False)]


def test_live_hits_without_a_dense_score_keep_their_place() -> None:
    live = [_hit("lexical-only", None), _hit("b", 0.80)]
    merged = merge_drafts(live, [(_hit("d", 0.0), 0.99)], k=3)
    assert [e.hit.id for e in merged] == ["lexical-only", "d", "b"]


def _item(
    iid: str, kind: ItemKind, status: ItemStatus, current: int, live: int | None
) -> KnowledgeItem:
    return KnowledgeItem(
        id=iid,
        kind=kind,
        status=status,
        current_version=current,
        published_version=live,
        created_by="t",
        created_at=NOW,
        updated_at=NOW,
    )


def test_unpublished_lists_indexed_items_whose_latest_version_is_not_live() -> None:
    items = [
        _item("new", ItemKind.CLAUSE, ItemStatus.IN_REVIEW, 1, None),
        _item("edited", ItemKind.FAQ, ItemStatus.DRAFT, 3, 2),
        _item("live", ItemKind.CASE, ItemStatus.PUBLISHED, 2, 2),
        _item("gone", ItemKind.CLAUSE, ItemStatus.RETIRED, 2, None),
        _item("script", ItemKind.SCRIPT, ItemStatus.DRAFT, 1, None),
    ]
    assert unpublished(items) == ["new", "edited"]
