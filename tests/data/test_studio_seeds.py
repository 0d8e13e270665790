"""Every shipped soothing script, term and compliance rule seeds as a valid studio item that
converts back unchanged, so the studio can take over the shipped files (data/scripts,
data/terms, prompts/compliance_rules.yaml)."""

from __future__ import annotations

from core.settings import PROJECT_ROOT, Settings
from prompts.guard import ComplianceGuard
from retrieval.synonyms import TermEntry, TermMap
from sentiment.scripts import ScriptLibrary
from studio.items import ItemKind, parse_content
from studio.overlays import (
    CuratedOverlay,
    merged_guard,
    merged_scripts,
    merged_term_map,
    rule_content,
    rule_from_content,
    rule_seed_entries,
    script_content,
    script_from_content,
    script_seed_entries,
    term_content,
    term_from_content,
    term_seed_entries,
)
from studio.service import SeedEntry
from studio.workflow import check_item_id, check_kind

SETTINGS = Settings()
SCRIPTS = ScriptLibrary.load(SETTINGS.scripts_file)
TERMS = TermMap.load(SETTINGS.terms_dir / "synonyms.tsv")
GUARD = ComplianceGuard.load(PROJECT_ROOT / "prompts" / "compliance_rules.yaml")


def _all_shipped() -> list[SeedEntry]:
    return [
        *script_seed_entries(SCRIPTS.scripts, "soothing.jsonl"),
        *term_seed_entries(TERMS, "synonyms.tsv"),
        *rule_seed_entries(GUARD.rules, "compliance_rules.yaml"),
    ]


def test_every_shipped_record_seeds_as_a_valid_item_with_a_stable_id() -> None:
    entries = _all_shipped()
    assert len(entries) == len(SCRIPTS.scripts) + len(TERMS.entries) + len(GUARD.rules)
    assert len({e.item_id for e in entries}) == len(entries)
    for entry in entries:
        assert check_item_id(entry.item_id) == entry.item_id
        check_kind(entry.kind, entry.content)
    ids = {e.item_id: e.kind for e in entries}
    assert ids["term-泡水"] is ItemKind.TERM_MAP
    assert ids["promise-full-payout"] is ItemKind.COMPLIANCE_RULE
    assert ids["sooth-angry-claim_refused-1"] is ItemKind.SCRIPT


def test_every_shipped_record_converts_back_unchanged() -> None:
    for script in SCRIPTS.scripts:
        assert script_from_content(script.id, script_content(script)) == script
    for expression, synonyms in TERMS.entries.items():
        assert term_from_content(term_content(expression, synonyms)) == TermEntry(
            expression=expression, synonyms=synonyms
        )
    for rule in GUARD.rules:
        assert rule_from_content(rule.id, rule_content(rule)) == rule


def test_seeded_content_survives_its_json_form() -> None:
    # what a version stores and an export writes reads back to the same content
    for entry in _all_shipped():
        assert parse_content(entry.content.model_dump(mode="json")) == entry.content


def test_seeded_items_serve_exactly_the_shipped_files() -> None:
    def overlay(entries: list[SeedEntry]) -> CuratedOverlay:
        return CuratedOverlay(live={e.item_id: e.content for e in entries})

    scripts = merged_scripts(SCRIPTS, overlay(script_seed_entries(SCRIPTS.scripts, "")))
    assert scripts.scripts == SCRIPTS.scripts
    assert merged_term_map(TERMS, overlay(term_seed_entries(TERMS, ""))) == TERMS
    assert merged_guard(GUARD, overlay(rule_seed_entries(GUARD.rules, ""))).rules == GUARD.rules
