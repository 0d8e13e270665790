"""Scripts, terms and compliance rules as studio items, and the shipped files merged with them.

These kinds ship as files and are curated as items. Each item holds one record:

* ``script`` (id: the script's id): ``title``; ``text`` what the agent says, with placeholders
  such as ``{客户称呼}``; data ``scene`` (the situation the caller's words point to, e.g. flood,
  claim_refused or general) and ``emotion`` (angry, anxious, dissatisfied, neutral, positive, or
  any, the default). From ``data/scripts/soothing.jsonl``.
* ``term_map`` (id: ``term-`` and the expression, e.g. ``term-泡水``): ``text`` the colloquial
  expression; data ``synonyms``, the formal clause terms separated by spaces. One line of
  ``data/terms/synonyms.tsv``.
* ``compliance_rule`` (id: the rule's id): ``text`` the reason shown to the agent; data
  ``category``, ``severity``, ``rewrite``, the patterns as ``pattern01``, ``pattern02``, ... and
  the exceptions as ``unless01``, .... One rule of ``prompts/compliance_rules.yaml``.

Every data value is a single line because the studio form edits data as ``key: value`` lines.
``studio.workflow.check_content`` validates these fields when an item is saved.

What serves is the shipped file merged with the studio (``merged_*``): a published item replaces
the record with its id, a retired item removes it, a published item with a new id adds one, and
drafts change nothing. Content that cannot be converted (it cannot pass the save-time checks, but
a later, stricter check could refuse an old version) is logged and skipped, keeping the shipped
record: a bad edit must not take down a page or drop a red line.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from core.errors import PolicyDeskError
from prompts.guard import ComplianceGuard, ComplianceRule, RuleCategory, Severity
from retrieval.synonyms import TermMap
from sentiment.scripts import ScriptLibrary, SoothingScript
from studio.items import ItemContent, ItemKind
from studio.repository import KnowledgeRepository
from studio.service import SeedEntry
from studio.workflow import check_content, numbered_values, split_terms

logger = logging.getLogger(__name__)

TERM_ID_PREFIX = "term-"
_RULE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_NOT_RULE_ID = re.compile(r"[^a-z0-9]+")

R = TypeVar("R")


class CuratedOverlay(BaseModel):
    """What the studio changes about one kind of shipped file."""

    model_config = ConfigDict(frozen=True)

    live: dict[str, ItemContent] = Field(
        default_factory=dict, description="item id -> the published content"
    )
    retired: frozenset[str] = Field(default_factory=frozenset, description="retired item ids")


def read_overlay(repository: KnowledgeRepository, kind: ItemKind) -> CuratedOverlay:
    """The published content and the retired ids of every item of a kind (drafts are skipped;
    an item being edited contributes the version that is still published)."""
    return CuratedOverlay(
        live={item.id: version.content for item, version in repository.live_versions(kind)},
        retired=frozenset(repository.retired_ids(kind)),
    )


# ------------------------------------------------------------------------------------- scripts


def script_content(script: SoothingScript) -> ItemContent:
    """The item content of a soothing script."""
    return ItemContent(
        title=script.title,
        text=script.text,
        data={"scene": script.situation, "emotion": script.emotion},
    )


def script_from_content(item_id: str, content: ItemContent) -> SoothingScript:
    """The soothing script an item holds.

    Raises:
        InvalidItemError: the content is not a usable script.
    """
    check_content(ItemKind.SCRIPT, content)
    return SoothingScript(
        id=item_id,
        emotion=content.data.get("emotion", "any"),
        situation=content.data["scene"].strip(),
        title=content.title,
        text=content.text,
    )


def script_seed_entries(scripts: Iterable[SoothingScript], source: str) -> list[SeedEntry]:
    """Studio seed entries for the shipped scripts, so trainers can browse and edit them."""
    return [
        SeedEntry(item_id=s.id, kind=ItemKind.SCRIPT, content=script_content(s), source=source)
        for s in scripts
    ]


def merged_scripts(shipped: ScriptLibrary, overlay: CuratedOverlay) -> ScriptLibrary:
    """The shipped scripts with the studio's changes.

    New published scripts come first (in id order), then the shipped ones in file order: the
    library offers the first script that fits, so a script a trainer adds for a case is the one
    agents see.
    """
    kept, added = _merge(
        [(s.id, s) for s in shipped.scripts], overlay, script_from_content, ItemKind.SCRIPT
    )
    return ScriptLibrary([*added, *kept])


# ------------------------------------------------------------------------------------- terms


def term_item_id(expression: str) -> str:
    """The item id of a colloquial expression's term entry: ``term-泡水``."""
    return f"{TERM_ID_PREFIX}{expression}"


def term_content(expression: str, synonyms: Sequence[str]) -> ItemContent:
    """The item content of one term-map entry."""
    return ItemContent(title=expression, text=expression, data={"synonyms": " ".join(synonyms)})


def term_from_content(content: ItemContent) -> tuple[str, list[str]]:
    """The colloquial expression and its formal terms an item holds.

    Raises:
        InvalidItemError: the content is not a usable term.
    """
    check_content(ItemKind.TERM_MAP, content)
    return content.text.strip(), split_terms(content.data["synonyms"])


def term_seed_entries(terms: TermMap, source: str) -> list[SeedEntry]:
    """Studio seed entries for the shipped term map, one per colloquial expression."""
    return [
        SeedEntry(
            item_id=term_item_id(expression),
            kind=ItemKind.TERM_MAP,
            content=term_content(expression, synonyms),
            source=source,
        )
        for expression, synonyms in terms.entries.items()
    ]


def merged_term_map(shipped: TermMap, overlay: CuratedOverlay) -> TermMap:
    """The shipped term map with the studio's changes; two entries for one expression (an item
    renamed to an expression another entry has) pool their terms, as two file lines would."""
    kept, added = _merge(
        [(term_item_id(e), (e, terms)) for e, terms in shipped.entries.items()],
        overlay,
        lambda _, content: term_from_content(content),
        ItemKind.TERM_MAP,
    )
    entries: dict[str, list[str]] = {}
    for expression, synonyms in [*kept, *added]:
        pooled = entries.setdefault(expression, [])
        pooled.extend(t for t in synonyms if t not in pooled)
    return TermMap(entries=entries)


# ------------------------------------------------------------------------------------- rules


def rule_id_for(item_id: str) -> str:
    """The guard's rule id for an item: the item id when it is kebab-case (every shipped rule),
    else a kebab-case form of it (``compliance_rule-3fa2`` -> ``compliance-rule-3fa2``)."""
    if _RULE_ID.match(item_id):
        return item_id
    slug = _NOT_RULE_ID.sub("-", item_id.lower()).strip("-")
    return slug or f"rule-{hashlib.sha1(item_id.encode('utf-8')).hexdigest()[:10]}"


def rule_content(rule: ComplianceRule) -> ItemContent:
    """The item content of a compliance rule."""
    data = {"category": rule.category.value, "severity": rule.severity.value}
    data["rewrite"] = rule.rewrite
    data |= _numbered("pattern", rule.patterns)
    data |= _numbered("unless", rule.unless)
    return ItemContent(title=rule.id, text=rule.reason, data=data)


def rule_from_content(item_id: str, content: ItemContent) -> ComplianceRule:
    """The compliance rule an item holds.

    Raises:
        InvalidItemError: the content is not a usable rule.
    """
    check_content(ItemKind.COMPLIANCE_RULE, content)
    data = content.data
    return ComplianceRule(
        id=rule_id_for(item_id),
        category=RuleCategory(data["category"]),
        severity=Severity(data["severity"]),
        patterns=numbered_values(data, "pattern"),
        unless=numbered_values(data, "unless"),
        reason=content.text.strip(),
        rewrite=data["rewrite"].strip(),
    )


def rule_seed_entries(rules: Iterable[ComplianceRule], source: str) -> list[SeedEntry]:
    """Studio seed entries for the shipped compliance rules."""
    return [
        SeedEntry(
            item_id=r.id, kind=ItemKind.COMPLIANCE_RULE, content=rule_content(r), source=source
        )
        for r in rules
    ]


def merged_guard(shipped: ComplianceGuard, overlay: CuratedOverlay) -> ComplianceGuard:
    """A guard over the shipped rules with the studio's changes (possibly none left, if every
    rule was retired). A new rule whose id another rule already has is skipped and logged."""
    kept, added = _merge(
        [(r.id, r) for r in shipped.rules],
        overlay,
        rule_from_content,
        ItemKind.COMPLIANCE_RULE,
    )
    rules: dict[str, ComplianceRule] = {}
    for rule in [*kept, *added]:
        if rule.id in rules:
            logger.warning("compliance rule id %s is used twice; the second is ignored", rule.id)
            continue
        rules[rule.id] = rule
    return ComplianceGuard.from_rules(list(rules.values()))


# ------------------------------------------------------------------------------------- internals


def _numbered(name: str, values: Sequence[str]) -> dict[str, str]:
    width = max(2, len(str(len(values))))
    return {f"{name}{n:0{width}d}": value for n, value in enumerate(values, start=1)}


def _merge(
    shipped: Sequence[tuple[str, R]],
    overlay: CuratedOverlay,
    convert: Callable[[str, ItemContent], R],
    kind: ItemKind,
) -> tuple[list[R], list[R]]:
    """(the shipped records in order, each replaced by its published item or dropped when the
    item is retired; the published records with new ids, in id order)."""
    published = _convert_all(overlay.live, convert, kind)
    shipped_ids = {item_id for item_id, _ in shipped}
    kept = [
        published.get(item_id, record)
        for item_id, record in shipped
        if item_id not in overlay.retired
    ]
    added = [record for item_id, record in published.items() if item_id not in shipped_ids]
    return kept, added


def _convert_all(
    live: Mapping[str, ItemContent], convert: Callable[[str, ItemContent], R], kind: ItemKind
) -> dict[str, R]:
    converted: dict[str, R] = {}
    for item_id in sorted(live):
        try:
            converted[item_id] = convert(item_id, live[item_id])
        except (PolicyDeskError, ValueError) as exc:
            # validated when saved, so only content older than a check gets here; serving the
            # shipped record beats failing every page that needs this kind
            logger.warning("published %s %s cannot serve and is ignored: %s", kind, item_id, exc)
    return converted
