"""Saving an import as drafts and previewing retrieval with drafts (real SQLite and chromadb)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.models import Role, User
from core.models import PassageKind, SearchRequest
from services.root import Services
from studio.curation import (
    DraftPreview,
    ImportSaveError,
    draft_passages,
    save_import,
    unpublished,
)
from studio.importer import preview_document
from studio.items import ItemQuery, ItemStatus
from tests.fakes import IMPORTED_BASE

pytestmark = pytest.mark.integration

SEEDED = IMPORTED_BASE

NEW_DOC = """---
doc_id: pile
document: 充电桩条款
product: nev
---
第一条 自用充电桩因雷击、短路起火造成的损失，保险人负责赔偿。

第二条 充电桩自然老化造成的损失，保险人不负责赔偿。
"""


@pytest.fixture
def users(fake_services: Services, tmp_path: Path) -> tuple[User, User]:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "base.md").write_text(SEEDED, encoding="utf-8")
    fake_services.ingest.ingest([kb])
    fake_services.studio.seed_published(fake_services.catalog.passages())
    trainer = fake_services.accounts.add("tina", "Trainer-Pass-26", [Role.TRAINER])
    reviewer = fake_services.accounts.add("rita", "Reviewer-Pass-26", [Role.REVIEWER])
    return trainer, reviewer


def test_an_import_becomes_drafts_and_a_reimport_revises_them(
    fake_services: Services, users: tuple[User, User]
) -> None:
    trainer, reviewer = users
    studio = fake_services.studio
    preview = preview_document("pile.md", NEW_DOC.encode("gbk"), PassageKind.CLAUSE)
    saved = save_import(studio, trainer, preview)
    assert saved.created == ["pile-1", "pile-2"] and not saved.revised
    assert studio.get(trainer, "pile-1").item.status is ItemStatus.DRAFT
    live = fake_services.retriever().search(SearchRequest(query="充电桩雷击", k=5))
    assert "pile-1" not in {h.id for h in live.hits}

    again = save_import(studio, trainer, preview)
    assert again.unchanged == ["pile-1", "pile-2"]
    changed = preview_document(
        "pile.md", NEW_DOC.replace("雷击、短路", "雷击、短路或漏电").encode(), PassageKind.CLAUSE
    )
    revised = save_import(studio, trainer, changed)
    assert revised.revised == ["pile-1"] and revised.unchanged == ["pile-2"]
    assert studio.get(trainer, "pile-1").item.current_version == 2

    studio.submit(trainer, "pile-2")
    studio.retire(reviewer, "pile-2")
    with pytest.raises(ImportSaveError, match="pile-2: the item is retired"):
        save_import(studio, trainer, changed)
    assert studio.get(trainer, "pile-1").item.current_version == 2  # nothing more was written


def test_the_draft_preview_shows_a_draft_where_it_would_rank(
    fake_services: Services, users: tuple[User, User]
) -> None:
    trainer, _ = users
    studio = fake_services.studio
    save_import(studio, trainer, preview_document("pile.md", NEW_DOC.encode(), PassageKind.CLAUSE))
    items = [s.item for s in studio.search(trainer, ItemQuery())]
    ids = unpublished(items)
    assert ids == ["pile-1", "pile-2"]
    preview = DraftPreview(
        fake_services.retriever(),
        fake_services.embedder,
        draft_passages(studio, trainer, ids),
        fake_services.settings.chunk_chars,
        fake_services.settings.chunk_overlap,
    )
    ranking = preview.search("自用充电桩因雷击、短路起火造成的损失", k=3)
    assert ranking[0].hit.id == "pile-1" and ranking[0].draft
    assert any(not entry.draft for entry in ranking)
    questions = ["被水淹了", "自用充电桩因雷击、短路起火造成的损失"]
    answers = dict(preview.searcher()(questions))
    assert answers[0][0].id == "base-1"
    # the golden-set searcher, embedding in batches, ranks each question as ``search`` does
    assert [h.id for h in answers[1]] == [
        e.hit.id for e in preview.search("自用充电桩因雷击、短路起火造成的损失", k=10)
    ]
