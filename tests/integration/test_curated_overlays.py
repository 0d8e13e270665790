"""Published scripts, terms and compliance rules reach their consumers without a restart.

Real SQLite and chromadb, the fake embedder; seeding through the ``kb seed`` command's branch.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accounts.models import User
from cli.studio import cmd_kb
from core.models import Emotion, RetrievalMode, SearchRequest
from core.settings import Settings
from db.schema import items_table, versions_table
from prompts.guard import ComplianceGuard, RuleCategory, Severity
from retrieval.synonyms import TermMap
from sentiment.scripts import ScriptLibrary
from services.root import Services
from studio.items import ItemKind, ItemStatus, RuleContent, ScriptContent
from studio.overlays import rule_content, script_content, term_content, term_item_id
from studio.service import StudioService
from studio.workflow import InvalidItemError
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.integration

CLAUSES = """---
doc_id: t
document: 测试条款
product: commercial
---
### 第一条
车辆在道路上发生故障无法行驶的，保险人提供道路救援服务。
### 第二条
因暴雨、洪水导致被保险机动车涉水或被水淹造成的损失，保险人负责赔偿。
"""
NEW_PHRASE = "这笔钱稳稳到手，您放心。"


@dataclass
class Curated:
    services: Services
    studio: StudioService
    tina: User  # trainer: writes
    rita: User  # reviewer: publishes

    def publish(self, item_id: str) -> None:
        self.studio.submit(self.tina, item_id)
        self.studio.publish(self.rita, item_id)

    def flags(self, text: str) -> list[str]:
        return self.services.guard.check(text).rules


@pytest.fixture
def curated(fake_services: Services, tmp_path: Path) -> Curated:
    accounts = fake_services.accounts
    tina = accounts.add("tina", "Trainer-Pass-26", ["trainer"])
    rita = accounts.add("rita", "Reviewer-Pass-26", ["reviewer"])
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    fake_services.ingest.ingest([kb])
    out = io.StringIO()
    assert cmd_kb(fake_services, argparse.Namespace(kb_command="seed"), out) == 0
    seeded = out.getvalue()
    shipped = fake_services.settings
    assert f"{len(ScriptLibrary.load(shipped.scripts_file).scripts)} soothing scripts" in seeded
    assert f"{len(TermMap.load(shipped.terms_dir / 'synonyms.tsv').entries)} terms" in seeded
    assert f"{len(ComplianceGuard.load(shipped.compliance_rules).rules)} compliance rules" in seeded
    return Curated(fake_services, fake_services.studio, tina, rita)


def test_without_a_database_the_files_serve_alone_and_nothing_is_created(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    services = Services(Settings(data_dir=tmp_path / "new"), embedder=fake_embedder)
    settings = services.settings
    assert services.guard.rules == ComplianceGuard.load(settings.compliance_rules).rules
    assert services.term_map == TermMap.load(settings.terms_dir / "synonyms.tsv")
    assert services.scripts.scripts == ScriptLibrary.load(settings.scripts_file).scripts
    assert not (settings.data_dir / "policydesk.db").exists()


def test_seeding_twice_adds_nothing_and_seeded_items_serve_the_files(curated: Curated) -> None:
    out = io.StringIO()
    assert cmd_kb(curated.services, argparse.Namespace(kb_command="seed"), out) == 0
    assert "0 soothing scripts" in out.getvalue() and "0 compliance rules" in out.getvalue()
    settings = curated.services.settings
    assert curated.services.guard.rules == ComplianceGuard.load(settings.compliance_rules).rules
    assert curated.services.term_map == TermMap.load(settings.terms_dir / "synonyms.tsv")
    assert curated.studio.get(curated.tina, "term-泡水").item.status is ItemStatus.PUBLISHED


def test_an_edited_rule_flags_a_new_phrase_once_published_and_retiring_it_stops_it(
    curated: Curated,
) -> None:
    s, studio = curated, curated.studio
    before = s.services.retriever()
    assert s.flags(NEW_PHRASE) == []
    rule = studio.get(s.tina, "promise-full-payout").current.content
    assert isinstance(rule, RuleContent)
    edited = rule_content(
        rule.rule.model_copy(update={"patterns": [*rule.rule.patterns, "稳稳到手"]})
    )
    studio.edit(s.tina, "promise-full-payout", edited, note="新增红线用语")
    assert s.flags(NEW_PHRASE) == []
    studio.submit(s.tina, "promise-full-payout")
    assert s.flags(NEW_PHRASE) == []

    studio.publish(s.rita, "promise-full-payout")
    assert s.flags(NEW_PHRASE) == ["promise-full-payout"]
    # the API's shared chatbot (which holds the guard) rebuilds when the retriever changes
    assert s.services.retriever() is not before

    assert s.flags("这个肯定全赔。") == ["promise-full-payout"]
    studio.retire(s.rita, "promise-full-payout", note="拆分为两条规则")
    assert s.flags(NEW_PHRASE) == [] and s.flags("这个肯定全赔。") == []
    studio.rollback(s.rita, "promise-full-payout", 2)
    assert s.flags(NEW_PHRASE) == ["promise-full-payout"]


def test_a_new_rule_is_enforced_once_published(curated: Curated) -> None:
    s, studio = curated, curated.studio
    rule = rule_content(
        s.services.guard.rules[0].model_copy(
            update={
                "reason": "不得替客户承诺保费不上涨之外的任何返现。",
                "category": RuleCategory.PROMISE,
                "severity": Severity.MEDIUM,
                "rewrite": "相关优惠以公司公布的活动规则为准。",
                "patterns": ["返现"],
                "unless": [],
            }
        )
    )
    studio.create(s.tina, ItemKind.COMPLIANCE_RULE, rule, item_id="promise-cashback")
    assert s.flags("续保给您返现五百。") == []
    s.publish("promise-cashback")
    assert s.flags("续保给您返现五百。") == ["promise-cashback"]


def test_a_new_synonym_expands_queries_once_published(curated: Curated) -> None:
    s, studio = curated, curated.studio
    retriever = s.services.retriever()
    query = SearchRequest(query="车在高速上趴窝了", mode=RetrievalMode.LEXICAL)
    assert s.services.term_map.expand("车在高速上趴窝了") == []
    item_id = term_item_id("趴窝")
    studio.create(
        s.tina, ItemKind.TERM_MAP, term_content("趴窝", ["故障", "道路救援"]), item_id=item_id
    )
    assert s.services.term_map.expand("车在高速上趴窝了") == []
    s.publish(item_id)
    assert s.services.term_map.expand("车在高速上趴窝了") == ["故障", "道路救援"]
    rebuilt = s.services.retriever()
    assert rebuilt is not retriever
    result = rebuilt.search(query)
    assert result.expansions == ["故障", "道路救援"] and result.hits[0].id == "t-1"

    studio.retire(s.rita, term_item_id("泡水"))
    assert "泡水" not in s.services.term_map.entries


def test_a_new_soothing_script_is_offered_once_published(curated: Curated) -> None:
    s, studio = curated, curated.studio
    assert s.services.scripts.best(Emotion.ANXIOUS, "flood").id == "sooth-anxious-flood-1"  # type: ignore[union-attr]
    shipped = studio.get(s.tina, "sooth-anxious-flood-1").current.content
    assert isinstance(shipped, ScriptContent)
    script = script_content(
        s.services.scripts.scripts[0].model_copy(
            update={
                "title": "水淹：先保人身安全",
                "text": "{客户称呼}，先别着急，人没事最要紧，车辆千万不要再次打火。",
                "situation": shipped.script.situation,
                "emotion": shipped.script.emotion,
            }
        )
    )
    studio.create(s.tina, ItemKind.SCRIPT, script, item_id="sooth-anxious-flood-2")
    s.publish("sooth-anxious-flood-2")
    best = s.services.scripts.best(Emotion.ANXIOUS, "flood")
    assert best is not None and (best.id, best.text) == ("sooth-anxious-flood-2", script.text)

    edited = script_content(
        shipped.script.model_copy(update={"text": "{客户称呼}，水淹车先断电，别再启动。"})
    )
    studio.edit(s.tina, "sooth-anxious-flood-1", edited)
    s.publish("sooth-anxious-flood-1")
    library = {x.id: x.text for x in s.services.scripts.scripts}
    assert library["sooth-anxious-flood-1"] == edited.text


def test_invalid_published_content_never_breaks_a_page(curated: Curated) -> None:
    # content saved before a check existed cannot be refused any more: it is skipped instead
    now = datetime.now(UTC)
    broken = {"kind": "compliance_rule", "rule": {"id": "legacy-rule", "category": "promise"}}
    with curated.services.engine.begin() as conn:
        conn.execute(
            items_table.insert().values(
                id="legacy-rule",
                kind=ItemKind.COMPLIANCE_RULE.value,
                status=ItemStatus.PUBLISHED.value,
                current_version=1,
                published_version=1,
                created_by="tina",
                created_at=now,
                updated_at=now,
                review_note="",
            )
        )
        conn.execute(
            versions_table.insert().values(
                item_id="legacy-rule",
                number=1,
                author="tina",
                at=now,
                note="",
                status=ItemStatus.PUBLISHED.value,
                content=broken,
                published_by="rita",
                published_at=now,
            )
        )
    curated.services.content_changed()
    settings = curated.services.settings
    assert curated.services.guard.rules == ComplianceGuard.load(settings.compliance_rules).rules


def test_a_script_for_a_situation_the_cue_book_does_not_know_is_not_published(
    curated: Curated,
) -> None:
    s, studio = curated, curated.studio
    shipped = s.services.scripts.scripts[0]
    typo = script_content(shipped.model_copy(update={"situation": "claim_refuse"}))
    studio.create(s.tina, ItemKind.SCRIPT, typo, item_id="sooth-angry-typo-1")
    studio.submit(s.tina, "sooth-angry-typo-1")
    with pytest.raises(InvalidItemError, match=r"'claim_refuse'.*claim_refused"):
        studio.publish(s.rita, "sooth-angry-typo-1")
    assert "sooth-angry-typo-1" not in {x.id for x in s.services.scripts.scripts}
