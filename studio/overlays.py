"""Scripts, terms and compliance rules as studio items, and the shipped files merged with them.

These kinds ship as files and are curated as items. Each item holds one typed record
(``studio.items``):

* ``script`` (id: the script's id): a ``SoothingScript`` (title; text, what the agent says, with
  placeholders such as ``{客户称呼}``; situation, e.g. flood, claim_refused or general; emotion, a
  caller emotion or any). From ``data/scripts/soothing.jsonl``.
* ``term_map`` (id: ``term-`` and the expression, e.g. ``term-泡水``): a ``TermEntry``, the
  colloquial expression and its formal synonyms. One line of ``data/terms/synonyms.tsv``.
* ``compliance_rule`` (id: the rule's id): a ``ComplianceRule`` (category, severity, patterns,
  exceptions, reason, rewrite). One rule of ``prompts/compliance_rules.yaml``.

The content validates itself when it is built, so an item never holds a record its consumer could
not use. What serves is the shipped file merged with the studio (``merged_*``): a published item
replaces the record with its id, a retired item removes it, a published item with a new id adds
one, and drafts change nothing. Published content that cannot be read any more (stored before a
check existed; see ``KnowledgeRepository.live_contents``) is logged and skipped, keeping the
shipped record: a bad edit must not take down a page or drop a red line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from prompts.guard import ComplianceGuard, ComplianceRule
from retrieval.synonyms import TermEntry, TermMap
from sentiment.scripts import ScriptLibrary, SoothingScript
from studio.items import (
    InvalidItemError,
    ItemContent,
    ItemKind,
    RuleContent,
    ScriptContent,
    TermContent,
)
from studio.repository import KnowledgeRepository
from studio.service import SeedEntry, seed_entries_from

logger = logging.getLogger(__name__)

TERM_ID_PREFIX = "term-"

R = TypeVar("R")


class CuratedOverlay(BaseModel):
    """What the studio changes about one kind of shipped file."""

    model_config = ConfigDict(frozen=True)

    live: dict[str, ItemContent] = Field(
        default_factory=dict, description="item id -> the published content"
    )
    retired: frozenset[str] = Field(default_factory=frozenset, description="retired item ids")
    unreadable: dict[str, str] = Field(
        default_factory=dict, description="item id -> why its published content cannot serve"
    )


def read_overlay(repository: KnowledgeRepository, kind: ItemKind) -> CuratedOverlay:
    """The published content and the retired ids of every item of a kind (drafts are skipped;
    an item being edited contributes the version that is still published)."""
    live = repository.live_contents(kind)
    return CuratedOverlay(
        live=live.contents,
        retired=frozenset(repository.retired_ids(kind)),
        unreadable=live.unreadable,
    )


# ------------------------------------------------------------------------------------- scripts


def script_content(script: SoothingScript) -> ScriptContent:
    """The item content of a soothing script."""
    return ScriptContent(script=script)


def script_from_content(item_id: str, content: ItemContent) -> SoothingScript:
    """The soothing script an item holds, with the item's id.

    Raises:
        InvalidItemError: the content is not a script.
    """
    if not isinstance(content, ScriptContent):
        raise InvalidItemError(f"item {item_id} holds {content.kind.value} content, not a script")
    return content.for_item(item_id).script


def script_seed_entries(scripts: Iterable[SoothingScript], source: str) -> list[SeedEntry]:
    """Studio seed entries for the shipped scripts, so trainers can browse and edit them.

    Raises:
        InvalidItemError: a script that cannot be an item (named).
    """
    return seed_entries_from(scripts, lambda s: s.id, script_content, source)


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


def term_content(expression: str, synonyms: Sequence[str]) -> TermContent:
    """The item content of one term-map entry."""
    return TermContent(term=TermEntry(expression=expression, synonyms=list(synonyms)))


def term_from_content(content: ItemContent) -> TermEntry:
    """The term entry an item holds.

    Raises:
        InvalidItemError: the content is not a term.
    """
    if not isinstance(content, TermContent):
        raise InvalidItemError(f"{content.kind.value} content is not a term")
    return content.term


def term_seed_entries(terms: TermMap, source: str) -> list[SeedEntry]:
    """Studio seed entries for the shipped term map, one per colloquial expression.

    Raises:
        InvalidItemError: an entry that cannot be an item (named).
    """
    return seed_entries_from(
        terms.entries.items(),
        lambda entry: term_item_id(entry[0]),
        lambda entry: term_content(*entry),
        source,
    )


def merged_term_map(shipped: TermMap, overlay: CuratedOverlay) -> TermMap:
    """The shipped term map with the studio's changes; two entries for one expression (an item
    renamed to an expression another entry has) pool their terms, as two file lines would."""
    kept, added = _merge(
        [
            (term_item_id(e), TermEntry(expression=e, synonyms=s))
            for e, s in shipped.entries.items()
        ],
        overlay,
        lambda _, content: term_from_content(content),
        ItemKind.TERM_MAP,
    )
    entries: dict[str, list[str]] = {}
    for term in [*kept, *added]:
        pooled = entries.setdefault(term.expression, [])
        pooled.extend(t for t in term.synonyms if t not in pooled)
    return TermMap(entries=entries)


# ------------------------------------------------------------------------------------- rules


def rule_content(rule: ComplianceRule) -> RuleContent:
    """The item content of a compliance rule."""
    return RuleContent(rule=rule)


def rule_from_content(item_id: str, content: ItemContent) -> ComplianceRule:
    """The compliance rule an item holds, its id the item's (``studio.items.rule_id_for``).

    Raises:
        InvalidItemError: the content is not a compliance rule.
    """
    if not isinstance(content, RuleContent):
        raise InvalidItemError(
            f"item {item_id} holds {content.kind.value} content, not a compliance rule"
        )
    return content.for_item(item_id).rule


def rule_seed_entries(rules: Iterable[ComplianceRule], source: str) -> list[SeedEntry]:
    """Studio seed entries for the shipped compliance rules.

    Raises:
        InvalidItemError: a rule the studio refuses (e.g. a pattern matching empty text), named.
    """
    return seed_entries_from(rules, lambda r: r.id, rule_content, source)


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
    return shipped.with_rules(list(rules.values()))


# ------------------------------------------------------------------------------------- internals


def _merge(
    shipped: Sequence[tuple[str, R]],
    overlay: CuratedOverlay,
    convert: Callable[[str, ItemContent], R],
    kind: ItemKind,
) -> tuple[list[R], list[R]]:
    """(the shipped records in order, each replaced by its published item or dropped when the
    item is retired; the published records with new ids, in id order)."""
    for item_id, problem in sorted(overlay.unreadable.items()):
        # only content older than a check gets here; serving the shipped record beats failing
        # every page that needs this kind
        logger.warning("published %s %s cannot serve and is ignored: %s", kind, item_id, problem)
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
        except InvalidItemError as exc:  # another kind's content: the service never stores it
            logger.warning("published %s %s cannot serve and is ignored: %s", kind, item_id, exc)
    return converted
