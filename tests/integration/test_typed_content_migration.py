"""Migration 0005: stored item versions from the one old content shape to typed content, and back.

The old rows are the ones the code before wrote (``tests/fixtures/old_items``, see its README):
every kind, seeded from the shipped files, plus edits made through the old ``key: value`` form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select

from audit.log import AuditLog
from core.models import Emotion, IngestReport, Passage
from core.settings import PROJECT_ROOT, Settings
from db.migrate import current_revision, downgrade, head_revision, upgrade
from db.schema import items_table, versions_table
from knowledge.loader import load_file, load_sources
from prompts.guard import ComplianceGuard
from retrieval.synonyms import TermEntry, TermMap
from sentiment.data import LabelledUtterance, load_labelled
from sentiment.scripts import ScriptLibrary, SoothingScript
from studio.items import (
    ItemContent,
    ItemKind,
    PassageContent,
    RuleContent,
    ScriptContent,
    TermContent,
    UtteranceContent,
)
from studio.overlays import (
    merged_guard,
    merged_scripts,
    merged_term_map,
    read_overlay,
    rule_seed_entries,
    script_seed_entries,
    term_seed_entries,
)
from studio.repository import KnowledgeRepository
from studio.service import StudioService
from studio.utterances import seed_entries

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "old_items" / "items.jsonl"
OLD: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()
]
SETTINGS = Settings()
GUARD = ComplianceGuard.load(SETTINGS.compliance_rules)
SCRIPTS = ScriptLibrary.load(SETTINGS.scripts_file)
TERMS = TermMap.load(SETTINGS.terms_dir / "synonyms.tsv")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# the versions the old form edited or created: their old shape does not come back letter for
# letter (renumbered patterns, normalised synonyms, defaults written out, a free title dropped)
EDITED = {
    ("promise-full-payout", 2),
    ("term-泡水", 2),
    ("script-3fa2b1c4d5", 1),
    ("utterance-9c8b7a6d5e", 1),
    ("compliance_rule-3fa2b1", 1),
}


class NoIndex:
    """Seeding never touches the index."""

    def apply_items(self, upserts: Any, removals: Any = ()) -> IngestReport:
        raise AssertionError("seeding must not touch the index")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A database at revision 0004 (the last before typed content) holding the old rows."""
    engine = create_engine(f"sqlite:///{tmp_path / 'policydesk.db'}")
    assert upgrade(engine, "0004") == (None, "0004")
    with engine.begin() as conn:
        for record in OLD:
            conn.execute(
                items_table.insert().values(
                    id=record["id"],
                    kind=record["kind"],
                    status=record["status"],
                    current_version=record["current_version"],
                    published_version=record["published_version"],
                    created_by="system",
                    created_at=NOW,
                    updated_at=NOW,
                    review_note="",
                )
            )
            for version in record["versions"]:
                conn.execute(
                    versions_table.insert().values(
                        item_id=record["id"],
                        number=version["number"],
                        author=version["author"],
                        at=NOW,
                        note="",
                        status=version["status"],
                        content=version["content"],
                        published_by="system" if version["published"] else None,
                        published_at=NOW if version["published"] else None,
                    )
                )
    yield engine
    engine.dispose()


def _stored(engine: Engine) -> dict[tuple[str, int], dict[str, Any]]:
    """Every version's content JSON as stored."""
    query = select(versions_table.c.item_id, versions_table.c.number, versions_table.c.content)
    with engine.connect() as conn:
        return {(r.item_id, r.number): r.content for r in conn.execute(query)}


def _typed(engine: Engine) -> dict[tuple[str, int], ItemContent]:
    """Every version's content read through the repository (so validated)."""
    repo = KnowledgeRepository(engine)
    return {
        (record["id"], v.number): v.content for record in OLD for v in repo.versions(record["id"])
    }


def _old_contents() -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["id"], v["number"]): v["content"] for r in OLD for v in r["versions"]}


def test_the_fixture_holds_every_kind() -> None:
    assert {r["kind"] for r in OLD} == {k.value for k in ItemKind}
    assert all("kind" not in v["content"] for r in OLD for v in r["versions"])


def test_every_kind_converts_to_its_typed_content(engine: Engine) -> None:
    assert upgrade(engine) == ("0004", head_revision())
    typed = _typed(engine)
    assert len(typed) == len(_old_contents())
    kinds = {r["id"]: ItemKind(r["kind"]) for r in OLD}
    assert all(content.kind is kinds[item_id] for (item_id, _), content in typed.items())

    # the shipped records, as their own files hold them (rules added after the fixture was
    # written, such as the off-channel ones, are not in it)
    fixture_rules = {r["id"] for r in OLD if r["kind"] == "compliance_rule"}
    assert len(fixture_rules) >= 25
    for rule in GUARD.rules:
        if rule.id in fixture_rules:
            assert typed[(rule.id, 1)] == RuleContent(rule=rule)
    for script in SCRIPTS.scripts:
        assert typed[(script.id, 1)] == ScriptContent(script=script)
    terms = [r["id"] for r in OLD if r["kind"] == "term_map"]
    assert len(terms) == 22
    for item_id in terms:
        expression = item_id.removeprefix("term-")
        entry = TermEntry(expression=expression, synonyms=TERMS.entries[expression])
        assert typed[(item_id, 1)] == TermContent(term=entry)
    folder = SETTINGS.sentiment_data
    for split, utterances in (
        ("train", load_labelled(folder / "train.jsonl")[:6]),
        ("dev", load_labelled(folder / "dev.jsonl")[:3]),
    ):
        for u in utterances:
            assert typed[(u.id, 1)] == UtteranceContent(utterance=u, split=split)
    clauses = PROJECT_ROOT / "data" / "clauses"
    passages: list[Passage] = [
        *load_file(clauses / "nev_pile.md"),
        *load_file(clauses / "faq_service.md")[:3],
        *load_file(PROJECT_ROOT / "data" / "cases" / "cases.jsonl")[:3],
    ]
    assert {p.kind.value for p in passages} == {"clause", "faq", "case"}
    for passage in passages:
        assert typed[(passage.id, 1)] == PassageContent.from_passage(passage)

    # what trainers typed into the old form
    payout = next(r for r in GUARD.rules if r.id == "promise-full-payout")
    edited = typed[("promise-full-payout", 2)]
    assert isinstance(edited, RuleContent)
    # pattern01..08, pattern3 (number 3 again, after pattern03), pattern09
    assert edited.rule.patterns == [*payout.patterns[:3], "包赔", *payout.patterns[3:], "稳稳到手"]
    assert edited.rule.unless == payout.unless
    assert typed[("term-泡水", 2)] == TermContent(
        term=TermEntry(expression="泡水", synonyms=["涉水", "水淹", "暴雨"])
    )
    assert typed[("script-3fa2b1c4d5", 1)] == ScriptContent(
        script=SoothingScript(
            id="script-3fa2b1c4d5",
            emotion="any",
            situation="理赔",
            title="安抚话术",
            text="非常理解您的心情，我马上为您核实。",
        )
    )
    assert typed[("utterance-9c8b7a6d5e", 1)] == UtteranceContent(
        utterance=LabelledUtterance(
            id="utterance-9c8b7a6d5e", text="你们到底赔不赔", label=Emotion.ANGRY
        ),
        split="train",
    )
    cashback = typed[("compliance_rule-3fa2b1", 1)]
    assert isinstance(cashback, RuleContent)
    assert (cashback.rule.id, cashback.rule.patterns, cashback.rule.reason) == (
        "compliance-rule-3fa2b1",
        ["返现"],
        "不得承诺返现。",
    )
    faq = typed[("faq-report", 1)]
    assert isinstance(faq, PassageContent)
    assert (faq.kind, faq.title, faq.product) == (ItemKind.FAQ, "怎么报案", "private")


def test_the_migrated_items_serve_as_the_files_do(engine: Engine) -> None:
    upgrade(engine)
    repo = KnowledgeRepository(engine)
    # every shipped rule and script is published unchanged; the edits are drafts
    assert merged_guard(GUARD, read_overlay(repo, ItemKind.COMPLIANCE_RULE)).rules == GUARD.rules
    scripts = merged_scripts(SCRIPTS, read_overlay(repo, ItemKind.SCRIPT))
    assert scripts.scripts == SCRIPTS.scripts
    assert merged_term_map(TERMS, read_overlay(repo, ItemKind.TERM_MAP)) == TERMS


def test_downgrade_writes_the_old_shape_back(engine: Engine) -> None:
    upgrade(engine)
    typed = _typed(engine)
    assert downgrade(engine, "0004") == (head_revision(), "0004")
    stored, old = _stored(engine), _old_contents()
    assert all("kind" not in content for content in stored.values())
    changed = {key for key, content in stored.items() if content != old[key]}
    assert changed == EDITED  # everything the old code seeded comes back exactly
    # and what the old form wrote means the same after another round
    upgrade(engine)
    assert _typed(engine) == typed


def test_every_shipped_record_seeded_by_the_new_code_survives_a_downgrade(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'seeded.db'}")
    upgrade(engine)
    repo = KnowledgeRepository(engine)
    studio = StudioService(repo, AuditLog(engine), NoIndex())
    _, passages = load_sources([PROJECT_ROOT / "data" / "clauses", PROJECT_ROOT / "data" / "cases"])
    studio.seed_published(passages)
    folder = SETTINGS.sentiment_data
    studio.seed_contents(
        seed_entries(
            load_labelled(folder / "train.jsonl"), load_labelled(folder / "dev.jsonl"), "sentiment"
        )
    )
    studio.seed_contents(script_seed_entries(SCRIPTS.scripts, "soothing.jsonl"))
    studio.seed_contents(term_seed_entries(TERMS, "synonyms.tsv"))
    studio.seed_contents(rule_seed_entries(GUARD.rules, "compliance_rules.yaml"))
    seeded = _stored(engine)
    assert {content["kind"] for content in seeded.values()} == {k.value for k in ItemKind}

    downgrade(engine, "0004")
    assert all("kind" not in content for content in _stored(engine).values())
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _stored(engine) == seeded
    engine.dispose()
