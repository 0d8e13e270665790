"""The trainer studio through the service layer: real SQLite and chromadb, fake embedder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from accounts.models import User
from accounts.passwords import PasswordHashing
from accounts.permissions import PermissionDeniedError
from accounts.store import AccountStore
from audit.log import AuditFilter, AuditLog, export_csv
from core.models import Emotion, SearchRequest
from sentiment.data import LabelledUtterance
from sentiment.scripts import SoothingScript
from services.root import Services
from studio.items import (
    ItemKind,
    ItemQuery,
    ItemStatus,
    PassageContent,
    ScriptContent,
    UtteranceContent,
)
from studio.repository import (
    ConcurrentChangeError,
    DuplicateItemError,
    ItemNotFoundError,
    KnowledgeRepository,
    VersionNotFoundError,
)
from studio.service import IndexUpdateError, StudioService
from studio.workflow import IllegalTransitionError, InvalidItemError, SelfReviewError
from tests.fakes import TEST_CLAUSES, FakeEmbedder

pytestmark = pytest.mark.integration

CLAUSES = TEST_CLAUSES

PILE_V1 = PassageContent(
    kind=ItemKind.CLAUSE,
    title="第九条",
    text="自用充电桩起火造成被保险机动车损失的，保险人负责赔偿。",
    citation="测试条款第九条",
    document="测试条款",
    doc_id="t",
    article="第九条",
    product="commercial",
    effective_date=date(2024, 1, 1),
)
PILE_V2 = PILE_V1.model_copy(
    update={"text": "自用充电桩起火或短路造成被保险机动车损失的，保险人负责赔偿。"}
)
PILE_V3 = PILE_V1.model_copy(
    update={"text": "新能源车专用充电桩起火、短路或漏电造成车辆损失的，保险人负责赔偿。"}
)


@dataclass
class Studio:
    service: StudioService
    services: Services
    audit: AuditLog
    accounts: AccountStore
    repo: KnowledgeRepository
    tina: User  # trainer
    sam: User  # supervisor: may author and publish, never both on one version
    rita: User  # reviewer
    alan: User  # agent

    def search(self, query: str) -> dict[str, str]:
        """Hit id -> the text that serves, best first."""
        result = self.services.retriever().search(SearchRequest(query=query, k=5))
        return {hit.id: hit.text for hit in result.hits}

    def actions(self, item_id: str) -> list[str]:
        entries = self.audit.entries(AuditFilter(target=item_id))
        return [e.action for e in reversed(entries)]


@pytest.fixture
def studio(fake_services: Services, tmp_path: Path) -> Studio:
    engine = fake_services.engine
    accounts = AccountStore(engine, PasswordHashing.fast_for_tests())
    users = {
        name: accounts.add(name, "Desk-Pass-2026", [role])
        for name, role in [
            ("tina", "trainer"),
            ("sam", "supervisor"),
            ("rita", "reviewer"),
            ("alan", "agent"),
        ]
    }
    repo, audit = KnowledgeRepository(engine), AuditLog(engine)
    service = StudioService(repo, audit, fake_services.ingest, accounts)
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    fake_services.ingest.ingest([kb])
    service.seed_published(fake_services.catalog.passages())
    return Studio(service, fake_services, audit, accounts, repo, **users)


def test_the_whole_path(studio: Studio) -> None:
    s, svc = studio, studio.service
    item = svc.create(s.sam, ItemKind.CLAUSE, PILE_V1, note="新增充电桩条款")
    assert (item.id, item.status, item.current_version) == ("t-9", ItemStatus.DRAFT, 1)
    svc.edit(s.sam, "t-9", PILE_V2, note="补充短路")
    assert svc.submit(s.sam, "t-9").status is ItemStatus.IN_REVIEW
    assert "t-9" not in s.search("充电桩起火")  # nothing unpublished serves

    with pytest.raises(
        PermissionDeniedError, match=r"tina may not publish: .*reviewer or supervisor"
    ):
        svc.publish(s.tina, "t-9")
    with pytest.raises(SelfReviewError, match="sam wrote version 2"):
        svc.publish(s.sam, "t-9")
    published = svc.publish(s.rita, "t-9", note="核对无误")
    assert (published.status, published.published_version) == (ItemStatus.PUBLISHED, 2)
    hits = s.search("充电桩起火")
    assert next(iter(hits)) == "t-9" and hits["t-9"] == PILE_V2.text

    # an edit makes a draft; the published text keeps serving until the draft is published
    draft = svc.edit(s.sam, "t-9", PILE_V3, note="扩展到漏电")
    assert (draft.status, draft.current_version, draft.published_version) == (
        ItemStatus.DRAFT,
        3,
        2,
    )
    assert s.search("充电桩起火")["t-9"] == PILE_V2.text

    retired = svc.retire(s.rita, "t-9", note="产品停售")
    assert (retired.status, retired.published_version) == (ItemStatus.RETIRED, None)
    assert "t-9" not in s.search("充电桩起火")
    with pytest.raises(IllegalTransitionError, match="cannot edit item t-9: it is retired"):
        svc.edit(s.sam, "t-9", PILE_V1)

    restored = svc.rollback(s.rita, "t-9", 2, note="误下架")
    assert (restored.status, restored.current_version, restored.published_version) == (
        ItemStatus.PUBLISHED,
        4,
        4,
    )
    assert s.search("充电桩起火")["t-9"] == PILE_V2.text

    detail = svc.get(s.alan, "t-9")
    assert [v.number for v in detail.versions] == [1, 2, 3, 4]
    assert [v.author for v in detail.versions] == ["sam", "sam", "sam", "rita"]
    assert detail.version(2).published_by == "rita"  # type: ignore[union-attr]
    assert detail.current.note == "rollback to v2: 误下架"
    assert detail.published == detail.current and detail.current.content == PILE_V2
    assert s.actions("t-9") == [
        "kb.create",
        "kb.edit",
        "kb.submit",
        "kb.publish",
        "kb.edit",
        "kb.retire",
        "kb.rollback",
    ]
    publish_entry = s.audit.entries(AuditFilter(action="kb.publish", target="t-9"))[0]
    assert (publish_entry.actor, publish_entry.detail) == ("rita", "v2 by sam: 核对无误")


def test_illegal_transitions_name_the_problem(studio: Studio) -> None:
    s, svc = studio, studio.service
    svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    with pytest.raises(IllegalTransitionError, match="cannot publish item t-9: it is draft"):
        svc.publish(s.rita, "t-9")
    with pytest.raises(IllegalTransitionError, match="cannot request changes on item t-9"):
        svc.request_changes(s.rita, "t-9", "改")
    with pytest.raises(IllegalTransitionError, match="version 1 was never published"):
        svc.rollback(s.rita, "t-9", 1)
    with pytest.raises(IllegalTransitionError, match="cannot submit for review item t-1: it is "):
        svc.submit(s.tina, "t-1")  # a seeded, published clause
    with pytest.raises(ItemNotFoundError, match="no knowledge item 'nope'"):
        svc.submit(s.tina, "nope")
    with pytest.raises(VersionNotFoundError, match="has no version 7"):
        svc.rollback(s.rita, "t-1", 7)
    with pytest.raises(InvalidItemError, match="nothing to save"):
        svc.edit(s.tina, "t-9", PILE_V1)
    with pytest.raises(DuplicateItemError, match="'t-9' exists already"):
        svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    with pytest.raises(ValidationError, match="a clause needs text"):  # refused when built
        PassageContent(kind=ItemKind.CLAUSE, title="空")
    with pytest.raises(InvalidItemError, match="a faq item cannot hold clause content"):
        svc.create(s.tina, ItemKind.FAQ, PILE_V1, item_id="t-99")
    with pytest.raises(InvalidItemError, match="invalid item id"):
        svc.create(s.tina, ItemKind.FAQ, PILE_V1, item_id="has space")


def test_request_changes_sends_it_back_with_a_note(studio: Studio) -> None:
    s, svc = studio, studio.service
    svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    svc.submit(s.tina, "t-9")
    with pytest.raises(InvalidItemError, match="needs a note"):
        svc.request_changes(s.rita, "t-9", " ")
    back = svc.request_changes(s.rita, "t-9", "请注明适用车型")
    assert (back.status, back.review_note) == (ItemStatus.DRAFT, "请注明适用车型")
    svc.edit(s.tina, "t-9", PILE_V2)
    assert svc.submit(s.tina, "t-9").review_note == ""


def test_a_failing_index_update_leaves_the_item_unpublished(
    studio: Studio, fake_embedder: FakeEmbedder
) -> None:
    s, svc = studio, studio.service
    svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    svc.submit(s.tina, "t-9")
    collections = s.services.vector_index.collections()
    fake_embedder.fail_after = len(fake_embedder.embedded)
    with pytest.raises(IndexUpdateError, match=r"cannot publish item t-9: .*left as it was"):
        svc.publish(s.rita, "t-9")
    item = svc.get(s.rita, "t-9").item
    assert (item.status, item.published_version) == (ItemStatus.IN_REVIEW, None)
    assert svc.get(s.rita, "t-9").current.published_at is None
    assert s.services.vector_index.collections() == collections
    assert "t-9" not in s.search("充电桩起火")
    assert s.actions("t-9")[-1] == "kb.publish_failed"

    fake_embedder.fail_after = None
    assert svc.publish(s.rita, "t-9").status is ItemStatus.PUBLISHED
    assert "t-9" in s.search("充电桩起火")


def test_a_failed_state_write_puts_the_live_version_back(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, svc = studio, studio.service
    svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    svc.submit(s.tina, "t-9")
    svc.publish(s.rita, "t-9")
    svc.edit(s.tina, "t-9", PILE_V3)
    svc.submit(s.tina, "t-9")

    def conflict(*_: object) -> None:
        raise ConcurrentChangeError("changed meanwhile")

    monkeypatch.setattr(s.repo, "update_item", conflict)
    with pytest.raises(ConcurrentChangeError):
        svc.publish(s.rita, "t-9")
    monkeypatch.undo()
    assert s.search("充电桩起火")["t-9"] == PILE_V1.text  # v3 was indexed, then taken back
    assert svc.get(s.rita, "t-9").item.status is ItemStatus.IN_REVIEW


def test_seeding_registers_indexed_passages_without_embedding(
    studio: Studio, fake_embedder: FakeEmbedder
) -> None:
    s, svc = studio, studio.service
    seeded = svc.search(s.alan, ItemQuery(kind=ItemKind.CLAUSE))
    assert [x.item.id for x in seeded] == ["t-1", "t-2"]
    assert all(x.item.status is ItemStatus.PUBLISHED and x.item.live for x in seeded)
    assert svc.get(s.alan, "t-1").current.author == "system"
    embedded = len(fake_embedder.embedded)
    again = svc.seed_published(s.services.catalog.passages())
    assert (again.added, again.skipped) == (0, 2)
    assert svc.reconcile_index(s.sam).chunks_embedded == 0  # seeded content is the indexed content
    # editing a seeded clause re-embeds only that clause
    content = seeded[0].content.model_copy(update={"text": seeded[0].content.text + "（含地库）"})
    svc.edit(s.tina, "t-1", content)
    svc.submit(s.tina, "t-1")
    svc.publish(s.rita, "t-1")
    assert fake_embedder.embedded[embedded:] == [fake_embedder.embedded[-1]]
    assert "含地库" in s.search("暴雨水淹")["t-1"]


def test_kinds_that_are_not_indexed_never_touch_the_index(
    studio: Studio, fake_embedder: FakeEmbedder
) -> None:
    s, svc = studio, studio.service
    collections = s.services.vector_index.collections()
    embedded = len(fake_embedder.embedded)
    script = ScriptContent(
        script=SoothingScript(
            id="new",
            emotion="any",
            situation="理赔",
            title="安抚话术",
            text="非常理解您的心情，我马上为您核实。",
        )
    )
    item = svc.create(s.tina, ItemKind.SCRIPT, script)
    assert item.id.startswith("script-")
    svc.submit(s.tina, item.id)
    svc.publish(s.rita, item.id)
    svc.retire(s.rita, item.id)
    svc.rollback(s.rita, item.id, 1)
    assert svc.preview_passage(s.tina, item.id) is None
    assert s.services.vector_index.collections() == collections
    assert len(fake_embedder.embedded) == embedded
    utterance = UtteranceContent(
        utterance=LabelledUtterance(id="new", text="你们到底赔不赔", label=Emotion.ANGRY)
    )
    with pytest.raises(PermissionDeniedError, match="manage_utterances"):
        svc.create(s.rita, ItemKind.UTTERANCE, utterance)
    assert svc.create(s.tina, ItemKind.UTTERANCE, utterance).kind is ItemKind.UTTERANCE


def test_search_filters(studio: Studio) -> None:
    s, svc = studio, studio.service
    svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    faq = PassageContent(
        kind=ItemKind.FAQ, title="怎么报案", text="拨打95500报案。", product="private"
    )
    svc.create(s.tina, ItemKind.FAQ, faq, item_id="faq-report")

    def ids(**filters: object) -> list[str]:
        return [x.item.id for x in svc.search(s.alan, ItemQuery.model_validate(filters))]

    assert ids() == ["faq-report", "t-1", "t-2", "t-9"]
    assert ids(kind="faq") == ["faq-report"]
    assert ids(status="draft") == ["faq-report", "t-9"]
    assert ids(live=True) == ["t-1", "t-2"]
    assert ids(product="private") == ["faq-report"]
    assert ids(text="充电桩") == ["t-9"]
    assert ids(text="T-9") == ["t-9"]
    assert ids(kind="clause", effective_on="2023-06-01") == ["t-1", "t-2"]
    assert ids(kind="clause", effective_on="2019-06-01") == []
    assert ids(limit=2) == ["faq-report", "t-1"]


def test_diff_and_preview(studio: Studio) -> None:
    s, svc = studio, studio.service
    svc.create(s.tina, ItemKind.CLAUSE, PILE_V1)
    svc.edit(s.tina, "t-9", PILE_V2.model_copy(update={"product": "nev"}))
    result = svc.diff(s.alan, "t-9", 1, 2)
    assert result.diff.changed_fields == ["text", "product"]
    assert result.diff.text_rows[0].right_spans  # the inserted 或短路
    preview = svc.preview_passage(s.tina, "t-9")
    assert preview is not None and preview.id == "t-9" and preview.product == "nev"
    with pytest.raises(VersionNotFoundError):
        svc.diff(s.alan, "t-9", 1, 5)


def test_roles_are_checked_on_every_call(studio: Studio) -> None:
    s, svc = studio, studio.service
    with pytest.raises(PermissionDeniedError, match="alan may not edit_kb"):
        svc.create(s.alan, ItemKind.CLAUSE, PILE_V1)
    with pytest.raises(PermissionDeniedError, match="rita may not submit_review"):
        svc.submit(s.rita, "t-1")
    with pytest.raises(PermissionDeniedError, match="tina may not rollback"):
        svc.rollback(s.tina, "t-1", 1)
    # a session that logged in before the account was deactivated is refused at once
    s.accounts.deactivate("rita")
    with pytest.raises(PermissionDeniedError, match="deactivated"):
        svc.search(s.rita)


def test_reconcile_repairs_a_drifted_index(studio: Studio) -> None:
    s, svc = studio, studio.service
    s.services.ingest.apply_items([], ["t-2"])  # e.g. removed behind the studio's back
    assert "t-2" not in s.search("被盗窃六十天")
    report = svc.reconcile_index(s.sam)
    assert report.added == 1
    assert next(iter(s.search("被盗窃六十天"))) == "t-2"


def test_audit_is_masked_filterable_and_exportable(studio: Studio) -> None:
    s, svc = studio, studio.service
    faq = PILE_V1.model_copy(update={"kind": ItemKind.FAQ})
    svc.create(s.tina, ItemKind.FAQ, faq, note="客户13812345678来电反映", item_id="faq-1")
    entry = s.audit.entries(AuditFilter(actor="tina"))[0]
    assert entry.detail == "v1 faq: 客户138****5678来电反映"
    assert [e.action for e in s.audit.entries(AuditFilter(action="kb."))][-1] == "kb.seed"
    assert s.audit.entries(AuditFilter(actor="tina", since=entry.at, until=entry.at)) == []
    text = export_csv(s.audit.entries())
    lines = text.splitlines()
    assert lines[0] == "id,at,actor,action,target,detail"
    assert any(",tina,kb.create,faq-1," in line for line in lines)


def test_apply_items_upserts_and_removes_by_id_only(studio: Studio) -> None:
    ingest = studio.services.ingest
    with pytest.raises(ValueError, match=r"\['t-1'\]"):
        ingest.apply_items([studio.services.catalog.passages()[0]], ["t-1"])
    report = ingest.apply_items([], ["t-2", "not-indexed"])
    assert (report.removed, report.files) == (1, [])
    assert {p.id for p in studio.services.catalog.passages()} == {"t-1"}
