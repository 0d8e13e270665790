"""Scripts, terms and compliance rules as studio items, and the shipped files merged with them."""

from __future__ import annotations

import pytest

from core.models import Emotion
from core.settings import PROJECT_ROOT, Settings
from prompts.guard import ComplianceGuard, ComplianceRule, RuleCategory, Severity
from retrieval.synonyms import TermEntry, TermMap
from sentiment.scripts import ScriptLibrary, SoothingScript
from studio.items import ItemContent, ItemKind, PassageContent, parse_content, rule_id_for
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
    term_content,
    term_from_content,
    term_item_id,
)
from studio.workflow import InvalidItemError

SETTINGS = Settings()
SCRIPTS = ScriptLibrary.load(SETTINGS.scripts_file)
TERMS = TermMap.load(SETTINGS.terms_dir / "synonyms.tsv")
GUARD = ComplianceGuard.load(PROJECT_ROOT / "prompts" / "compliance_rules.yaml")

FLOOD = SoothingScript(
    id="sooth-x-flood",
    emotion="anxious",
    situation="flood",
    title="水淹：先安全",
    text="{客户称呼}，先确认人员安全，车辆不要再次启动。",
)
RULE = ComplianceRule(
    id="promise-refund",
    category=RuleCategory.PROMISE,
    severity=Severity.HIGH,
    patterns=["保证退(保费|钱)", "肯定退"],
    unless=["(不能|无法)保证"],
    reason="退费金额以核算为准，不能事先承诺。",
    rewrite="退费金额需要按条款核算，核算后我们第一时间告诉您。",
)


def _live(*entries: tuple[str, ItemContent]) -> CuratedOverlay:
    return CuratedOverlay(live=dict(entries))


# ----------------------------------------------------------------------------- conversions


def test_a_script_round_trips() -> None:
    content = script_content(FLOOD)
    assert content.text == FLOOD.text and content.title == FLOOD.title
    assert content.fields() == {
        "title": FLOOD.title,
        "text": FLOOD.text,
        "situation": "flood",
        "emotion": "anxious",
    }
    assert script_from_content(FLOOD.id, content) == FLOOD


def test_a_script_without_an_emotion_fits_any() -> None:
    content = parse_content(
        {"kind": "script", "script": {"id": "x", "title": "t", "text": "您好", "emotion": "any"}}
    )
    assert script_from_content("s-1", content).emotion == "any"
    assert script_from_content("s-1", content).id == "s-1"  # the item's id, whatever was stored


def test_a_term_round_trips_as_a_typed_entry() -> None:
    content = term_content("泡水", ["涉水", "水淹"])
    assert (content.text, content.fields()) == (
        "泡水",
        {"expression": "泡水", "synonyms": ["涉水", "水淹"]},
    )
    assert term_from_content(content) == TermEntry(expression="泡水", synonyms=["涉水", "水淹"])
    typed = term_content("泡水", ["涉水", "水淹", "暴雨", "涉水"])
    assert term_from_content(typed).synonyms == ["涉水", "水淹", "暴雨"]
    assert term_item_id("泡水") == "term-泡水"


def test_a_rule_round_trips_with_its_pattern_lists() -> None:
    content = rule_content(RULE)
    assert content.text == RULE.reason and content.title == RULE.id
    assert content.fields() == {
        "reason": RULE.reason,
        "rewrite": RULE.rewrite,
        "category": "promise",
        "severity": "high",
        "patterns": ["保证退(保费|钱)", "肯定退"],
        "unless": ["(不能|无法)保证"],
    }
    assert rule_from_content(RULE.id, content) == RULE


@pytest.mark.parametrize(
    ("item_id", "rule_id"),
    [
        ("promise-full-payout", "promise-full-payout"),
        ("compliance_rule-3fa2b1", "compliance-rule-3fa2b1"),
        ("Privacy_ID", "privacy-id"),
    ],
)
def test_rule_ids_are_kebab_case(item_id: str, rule_id: str) -> None:
    assert rule_id_for(item_id) == rule_id


def test_an_item_id_without_latin_letters_gets_a_stable_rule_id() -> None:
    # pinned: the id must not change between processes or releases (a published rule keeps it)
    assert rule_id_for("承诺全赔") == "rule-ba8d82cd72"
    assert rule_id_for("承诺退费") == "rule-7bde6921f0"


def test_conversions_refuse_content_of_another_kind() -> None:
    with pytest.raises(InvalidItemError, match="holds term_map content, not a script"):
        script_from_content("s", term_content("泡水", ["涉水"]))
    with pytest.raises(InvalidItemError, match="compliance_rule content is not a term"):
        term_from_content(rule_content(RULE))
    with pytest.raises(InvalidItemError, match="holds clause content, not a compliance rule"):
        rule_from_content(RULE.id, PassageContent(kind=ItemKind.CLAUSE, text="条款"))


def test_a_shipped_record_the_studio_refuses_is_named_when_seeding() -> None:
    silent = RULE.model_copy(update={"unless": ["(不能)?"]})  # the guard's own checks pass
    with pytest.raises(InvalidItemError, match=r"rules.yaml: promise-refund cannot be .*empty"):
        rule_seed_entries([silent], "rules.yaml")


# ----------------------------------------------------------------------------- merging


def test_a_published_script_replaces_the_shipped_one_in_place() -> None:
    shipped = ScriptLibrary([FLOOD, FLOOD.model_copy(update={"id": "other"})])
    edited = script_content(FLOOD.model_copy(update={"text": "您先别急，人没事最要紧。"}))
    merged = merged_scripts(shipped, _live((FLOOD.id, edited)))
    assert [s.id for s in merged.scripts] == [FLOOD.id, "other"]
    assert merged.scripts[0].text == "您先别急，人没事最要紧。"


def test_a_new_published_script_comes_first_so_it_is_offered() -> None:
    new = script_content(FLOOD.model_copy(update={"text": "新话术"}))
    merged = merged_scripts(SCRIPTS, _live(("script-new", new)))
    best = merged.best(Emotion.ANXIOUS, "flood")
    assert best is not None and (best.id, best.text) == ("script-new", "新话术")
    assert len(merged.scripts) == len(SCRIPTS.scripts) + 1


def test_a_retired_item_removes_its_record() -> None:
    shipped_script = SCRIPTS.scripts[0]
    scripts = merged_scripts(SCRIPTS, CuratedOverlay(retired=frozenset({shipped_script.id})))
    assert shipped_script.id not in [s.id for s in scripts.scripts]
    terms = merged_term_map(TERMS, CuratedOverlay(retired=frozenset({"term-泡水"})))
    assert "泡水" not in terms.entries and "被水泡" in terms.entries
    guard = merged_guard(GUARD, CuratedOverlay(retired=frozenset({"promise-full-payout"})))
    assert "promise-full-payout" not in guard.check("这个肯定全赔。").rules


def test_a_new_term_expands_queries_and_an_edited_one_replaces_its_synonyms() -> None:
    overlay = _live(
        ("term-趴窝", term_content("趴窝", ["故障", "道路救援"])),
        ("term-泡水", term_content("泡水", ["水淹"])),
    )
    terms = merged_term_map(TERMS, overlay)
    assert terms.expand("车在路上趴窝了") == ["故障", "道路救援"]
    assert terms.entries["泡水"] == ["水淹"]
    assert len(terms.entries) == len(TERMS.entries) + 1


def test_a_term_renamed_to_an_existing_expression_pools_its_synonyms() -> None:
    renamed = term_content("被水泡", ["浸泡"])  # item term-泡水 now holds 被水泡
    terms = merged_term_map(TERMS, _live(("term-泡水", renamed)))
    assert "泡水" not in terms.entries
    assert set(terms.entries["被水泡"]) == {*TERMS.entries["被水泡"], "浸泡"}


def test_a_published_rule_is_enforced_and_an_edited_one_replaced() -> None:
    loosened = rule_content(RULE.model_copy(update={"id": GUARD.rules[0].id}))
    guard = merged_guard(GUARD, _live(("promise-refund", rule_content(RULE))))
    assert guard.check("保证退保费给您。").rules == ["promise-refund"]
    replaced = merged_guard(GUARD, _live((GUARD.rules[0].id, loosened)))
    assert [r.id for r in replaced.rules] == [r.id for r in GUARD.rules]
    assert replaced.rules[0].patterns == RULE.patterns


def test_every_rule_can_be_retired() -> None:
    guard = merged_guard(GUARD, CuratedOverlay(retired=frozenset(r.id for r in GUARD.rules)))
    assert guard.rules == [] and guard.check("这个肯定全赔。").compliant


def test_a_new_rule_whose_id_is_taken_is_skipped() -> None:
    twin = rule_content(RULE)
    guard = merged_guard(GUARD, _live(("Promise_Full_Payout", twin)))
    assert [r.id for r in guard.rules] == [r.id for r in GUARD.rules]


def test_unusable_published_content_is_skipped_and_the_shipped_record_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # content the models refuse never gets past the repository (it reports it as unreadable)
    unreadable = {GUARD.rules[0].id: "rule.patterns: Field required", "rule-new": "..."}
    guard = merged_guard(GUARD, CuratedOverlay(unreadable=unreadable))
    assert guard.rules == GUARD.rules
    assert "cannot serve" in caplog.text and GUARD.rules[0].id in caplog.text
    # nor does another kind's content
    clause = PassageContent(kind=ItemKind.CLAUSE, text="缺场景")
    scripts = merged_scripts(SCRIPTS, _live(("s-new", clause)))
    assert scripts.scripts == SCRIPTS.scripts
    terms = merged_term_map(TERMS, _live(("term-泡水", clause)))
    assert terms == TERMS
