"""Issue 6's "done means" path through the service layer: import a clause document, fix a split,
review and publish it, see retrieval and the golden-set evaluation move, roll it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.models import Role
from accounts.permissions import PermissionDeniedError
from core.models import PassageKind, SearchRequest
from services.root import Services
from studio.curation import DraftPreview, draft_passages, save_import
from studio.golden_eval import run_golden_eval, search_with
from studio.importer import merge_articles, preview_document
from studio.items import ItemStatus
from studio.workflow import SelfReviewError
from tests.fakes import IMPORTED_BASE

pytestmark = pytest.mark.integration

BASE = IMPORTED_BASE

# 第二条 is really part of 第一条 (a cross-reference the splitter takes for a heading)
NEW = """---
doc_id: pile
document: 充电桩附加险条款
product: nev
---
第一条 自用充电桩因雷击、短路起火造成的损失，保险人负责赔偿。

第二条 约定的情形以外，充电桩的其他损失按照主险条款处理。

第三条 充电桩自然老化造成的损失，保险人不负责赔偿。
"""

QUESTION = "自用充电桩被雷击短路起火了能赔吗"


def test_import_fix_review_publish_measure_and_roll_back(
    fake_services: Services, tmp_path: Path
) -> None:
    services = fake_services
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "base.md").write_text(BASE, encoding="utf-8")
    services.ingest.ingest([kb])
    services.studio.seed_published(services.catalog.passages())
    trainer = services.accounts.add("tina", "Trainer-Pass-26", [Role.TRAINER])
    reviewer = services.accounts.add("rita", "Reviewer-Pass-26", [Role.REVIEWER])
    supervisor = services.accounts.add("sam", "Supervisor-Pass-26", [Role.SUPERVISOR])
    services.golden.add(QUESTION, ["pile-1"], "充电桩", author="tina")
    services.golden.add("车被水淹了能赔吗", ["base-1"], "涉水", author="tina")
    studio = services.studio

    def evaluate(label: str = "live") -> float:
        search = search_with(services.retriever(), services.embedder)
        report, _ = run_golden_eval(services.golden, services.eval_runs, search, "tina", label)
        return report.recall[1]

    before = evaluate()
    assert before == 0.5  # the new clause is not there yet

    preview = preview_document("pile.md", NEW.encode("gbk"), PassageKind.CLAUSE)
    assert [a.id for a in preview.articles] == ["pile-1", "pile-2", "pile-3"]
    fixed = merge_articles(preview, 0, 1)
    assert [a.id for a in fixed.articles] == ["pile-1", "pile-3"]
    assert "第二条" in fixed.articles[0].text
    saved = save_import(studio, trainer, fixed)
    assert saved.created == ["pile-1", "pile-3"]
    for item_id in saved.created:
        studio.submit(trainer, item_id)

    # before publishing: agents do not see it; the draft preview does
    live = services.retriever().search(SearchRequest(query=QUESTION, k=3)).hits
    assert "pile-1" not in {h.id for h in live}
    preview_search = DraftPreview(
        services.retriever(),
        services.embedder,
        draft_passages(studio, trainer, saved.created),
        services.settings.chunk_chars,
        services.settings.chunk_overlap,
    )
    _, delta = run_golden_eval(
        services.golden, services.eval_runs, preview_search.searcher(), "tina", "draft preview"
    )
    assert [c.question for c in delta.newly_fixed] == [QUESTION]

    with pytest.raises(PermissionDeniedError):
        studio.publish(trainer, "pile-1")
    studio.publish(reviewer, "pile-1")
    studio.publish(reviewer, "pile-3")
    assert services.retriever().search(SearchRequest(query=QUESTION, k=3)).hits[0].id == "pile-1"
    assert evaluate() == 1.0

    # a wrong edit goes live, then is rolled back
    edited = fixed.articles[0].text.replace("雷击、短路起火", "火灾")
    detail = studio.get(trainer, "pile-1")
    studio.edit(supervisor, "pile-1", detail.current.content.model_copy(update={"text": edited}))
    studio.submit(supervisor, "pile-1")
    with pytest.raises(SelfReviewError):  # a supervisor may publish, but not their own version
        studio.publish(supervisor, "pile-1")
    studio.publish(reviewer, "pile-1")
    rolled = studio.rollback(reviewer, "pile-1", 1, "the edit lost the lightning wording")
    assert rolled.status is ItemStatus.PUBLISHED and rolled.published_version == 3
    live_text = services.retriever().passage("pile-1")
    assert live_text is not None and "雷击" in live_text.text

    studio.retire(reviewer, "pile-1")
    assert evaluate() == 0.5  # retired: gone from retrieval and the evaluation shows it
    actions = [e.action for e in services.audit.entries()]
    assert {"kb.create", "kb.submit", "kb.publish", "kb.rollback", "kb.retire"} <= set(actions)
