"""The automated QA scorecard: the seven items of ``docs/qa_labelling.md`` scored on one contact.

The scorecard is data (``data/quality/scorecard.yaml``): each item's label, weight, the contacts
it applies to and its pattern groups. Matching is the shared ``core.rules`` matcher, one sentence
at a time; red lines are the compliance guard's findings already recorded on the turns (the live
view's, or ``quality.contacts.guarded_turns``). ``score_contact`` is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator

from conversation.models import Speaker
from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, sentences
from prompts.guard import MODEL_RULE_PREFIX, RuleCategory
from quality.models import (
    ContactKind,
    ContactRecord,
    ContactTurn,
    Evidence,
    ItemScore,
    Outcome,
    QaResult,
)


class ItemId(StrEnum):
    """The seven scorecard items, in the order the guide lists them."""

    GREETING_IDENTITY = "greeting_identity"
    EMPATHY = "empathy"
    ACCURACY = "accuracy"
    REDLINES = "redlines"
    NEXT_STEP = "next_step"
    DISPOSITION = "disposition"
    CLOSING = "closing"


REQUIRED_GROUPS: dict[ItemId, frozenset[str]] = {
    ItemId.GREETING_IDENTITY: frozenset({"greeting", "identity", "disclosure"}),
    ItemId.EMPATHY: frozenset({"empathy"}),
    ItemId.ACCURACY: frozenset({"coverage"}),
    ItemId.REDLINES: frozenset(),
    ItemId.NEXT_STEP: frozenset({"open", "time"}),
    ItemId.DISPOSITION: frozenset(),
    ItemId.CLOSING: frozenset({"closing"}),
}
"""The pattern groups each item reads; a scorecard must give exactly these."""

MISLEADING_PREFIXES = ("misleading-", f"{MODEL_RULE_PREFIX}{RuleCategory.MISLEADING.value}")
"""Guard rule ids that also fail ``accuracy`` (the misleading category)."""


def _checked(item: str, where: str, patterns: list[str]) -> list[str]:
    try:
        return check_patterns(patterns)
    except ValueError as exc:
        raise ValueError(f"item {item!r}: {where}: {exc}") from None


class PatternGroup(BaseModel):
    """Regular expressions, one of which must match a sentence, and what cancels them there."""

    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)


class Contradiction(BaseModel):
    """A statement the fact sheet contradicts, and the clause it contradicts."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    clause: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)


class ScorecardItem(BaseModel):
    """One item as written in the scorecard file."""

    id: ItemId
    label: str = Field(min_length=1)
    weight: float = Field(gt=0)
    applies_to: list[ContactKind] = Field(min_length=1)
    patterns: dict[str, PatternGroup] = Field(default_factory=dict)
    contradictions: list[Contradiction] = Field(default_factory=list)
    open_dispositions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ScorecardItem:
        item = self.id.value
        required = REQUIRED_GROUPS[self.id]
        missing = sorted(required - self.patterns.keys())
        unknown = sorted(self.patterns.keys() - required)
        if missing:
            raise ValueError(f"item {item!r}: patterns: missing group(s) {', '.join(missing)}")
        if unknown:
            raise ValueError(f"item {item!r}: patterns: unknown group(s) {', '.join(unknown)}")
        for name, group in self.patterns.items():
            _checked(item, f"patterns.{name}", group.patterns)
            _checked(item, f"patterns.{name}.unless", group.unless)
        if self.contradictions and self.id is not ItemId.ACCURACY:
            raise ValueError(f"item {item!r}: only accuracy has contradictions")
        ids = [c.id for c in self.contradictions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"item {item!r}: duplicate contradiction ids")
        for c in self.contradictions:
            _checked(item, f"contradictions.{c.id}", c.patterns)
            _checked(item, f"contradictions.{c.id}.unless", c.unless)
        if self.open_dispositions and self.id is not ItemId.NEXT_STEP:
            raise ValueError(f"item {item!r}: only next_step has open_dispositions")
        return self


class Scorecard(BaseModel):
    """The whole scorecard: every item once, in any order.

    Raises (on validation):
        pydantic.ValidationError: an unknown or duplicate item, a missing item, a missing or
            unknown pattern group, or a pattern that does not compile; the message names the item.
    """

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    items: list[ScorecardItem] = Field(min_length=1)

    _groups: dict[tuple[ItemId, str], RuleMatcher] = PrivateAttr(default_factory=dict)
    _contradictions: RuleMatcher | None = PrivateAttr(default=None)

    @field_validator("items")
    @classmethod
    def _every_item_once(cls, items: list[ScorecardItem]) -> list[ScorecardItem]:
        ids = [i.id for i in items]
        duplicates = sorted({i.value for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate item(s): {', '.join(duplicates)}")
        missing = [i.value for i in ItemId if i not in ids]
        if missing:
            raise ValueError(f"missing item(s): {', '.join(missing)}")
        return items

    def model_post_init(self, __context: object) -> None:
        for item in self.items:
            for name, group in item.patterns.items():
                # every match of the group, sentence by sentence, leftmost pattern first
                self._groups[(item.id, name)] = RuleMatcher(
                    [PatternRule.compile(group.patterns, group.unless)],
                    sentences,
                    Occurrence.FIRST_PER_RULE,
                )
            if item.contradictions:
                self._contradictions = RuleMatcher(
                    [PatternRule.compile(c.patterns, c.unless) for c in item.contradictions],
                    sentences,
                    Occurrence.FIRST_PER_RULE,
                )

    @property
    def title(self) -> str:
        """The name and version a result records."""
        return f"{self.name} {self.version}"

    def item(self, item_id: ItemId) -> ScorecardItem:
        """One item (every item is present: validated)."""
        return next(i for i in self.items if i.id is item_id)

    def matcher(self, item_id: ItemId, group: str) -> RuleMatcher:
        """The compiled pattern group of an item."""
        return self._groups[(item_id, group)]

    @property
    def contradictions(self) -> RuleMatcher | None:
        """The accuracy item's contradictions, compiled (rule n is contradiction n)."""
        return self._contradictions


def load_scorecard(path: Path) -> Scorecard:
    """Read and validate a scorecard file.

    Args:
        path: the YAML file (``data/quality/scorecard.yaml``).

    Returns:
        The validated, compiled scorecard.

    Raises:
        ConfigurationError: missing file, bad YAML, or an invalid scorecard (the message names
            the file and the item).
    """
    return read_yaml(path, Scorecard)


# ------------------------------------------------------------------------------------ scoring


def _staff(kind: ContactKind) -> Speaker:
    """Who speaks for the company on a contact of this kind."""
    return Speaker.BOT if kind is ContactKind.BOT else Speaker.AGENT


def _staff_turns(contact: ContactRecord) -> list[tuple[int, ContactTurn]]:
    speaker = _staff(contact.kind)
    return [(i, t) for i, t in enumerate(contact.turns) if t.speaker is speaker]


def _found(
    card: Scorecard, item: ItemId, group: str, turns: Iterable[tuple[int, ContactTurn]]
) -> Iterator[Evidence]:
    """Evidence for every match of one pattern group, turn by turn, in order."""
    matcher = card.matcher(item, group)
    for index, turn in turns:
        for match in matcher.find(turn.text):
            yield Evidence(
                turn=index,
                speaker=turn.speaker,
                span=match.text,
                start=match.start,
                source=f"rule:{item.value}.{group}",
            )


def _first(
    card: Scorecard, item: ItemId, group: str, turns: Iterable[tuple[int, ContactTurn]]
) -> Evidence | None:
    return next(_found(card, item, group, turns), None)


def _findings(
    turns: Iterable[tuple[int, ContactTurn]], only: tuple[str, ...] = ()
) -> list[Evidence]:
    """Evidence for the guard findings recorded on the turns (those starting with ``only``)."""
    found: list[Evidence] = []
    for index, turn in turns:
        for k, rule in enumerate(turn.findings):
            if only and not rule.startswith(only):
                continue
            span = turn.finding_spans[k] if k < len(turn.finding_spans) else ""
            found.append(
                Evidence(
                    turn=index,
                    speaker=turn.speaker,
                    span=span,
                    start=max(turn.text.find(span), 0) if span else 0,
                    source=f"guard:{rule}",
                )
            )
    return found


def _greeting_identity(
    card: Scorecard, staff: list[tuple[int, ContactTurn]]
) -> tuple[Outcome, list[Evidence], str]:
    item = ItemId.GREETING_IDENTITY
    if not staff:
        return Outcome.FAIL, [], "坐席没有发言"
    greeting = _first(card, item, "greeting", staff[:1])
    if greeting is None:
        first, turn = staff[0]
        note = Evidence(turn=first, speaker=turn.speaker, source=f"rule:{item.value}.greeting")
        return Outcome.FAIL, [note], "首句没有问候"
    disclosure = _first(card, item, "disclosure", staff)
    if disclosure is None:
        return Outcome.PASS, [greeting], "首句问候，未透露账户信息"
    identity = _first(card, item, "identity", staff)
    if identity is None or (identity.turn, identity.start) >= (disclosure.turn, disclosure.start):
        return Outcome.FAIL, [greeting, disclosure], "未核验身份即透露账户信息"
    return Outcome.PASS, [greeting, identity, disclosure], "首句问候，先核验身份再透露信息"


def _empathy(
    card: Scorecard, contact: ContactRecord, staff: list[tuple[int, ContactTurn]]
) -> tuple[Outcome, list[Evidence], str]:
    upset = next(
        (i for i, t in enumerate(contact.turns) if t.speaker is Speaker.CUSTOMER and t.upset),
        None,
    )
    if upset is None:
        return Outcome.NA, [], "客户情绪平稳"
    cue = Evidence(turn=upset, speaker=Speaker.CUSTOMER, source="model:emotion", note="upset")
    reply = next(((i, t) for i, t in staff if i > upset), None)
    if reply is None:
        return Outcome.FAIL, [cue], "客户不满后坐席没有回应"
    found = _first(card, ItemId.EMPATHY, "empathy", [reply])
    if found is None:
        evidence = Evidence(turn=reply[0], speaker=reply[1].speaker, source="rule:empathy.empathy")
        return Outcome.FAIL, [cue, evidence], "客户不满后坐席未安抚情绪"
    return Outcome.PASS, [cue, found], "客户不满后坐席及时安抚"


def _accuracy(
    card: Scorecard, staff: list[tuple[int, ContactTurn]]
) -> tuple[Outcome, list[Evidence], str]:
    item = card.item(ItemId.ACCURACY)
    wrong: list[Evidence] = []
    matcher = card.contradictions
    if matcher is not None:
        for index, turn in staff:
            for match in matcher.find(turn.text):
                contradiction = item.contradictions[match.rule]
                wrong.append(
                    Evidence(
                        turn=index,
                        speaker=turn.speaker,
                        span=match.text,
                        start=match.start,
                        source=f"rule:accuracy.{contradiction.id}",
                        note=contradiction.clause,
                    )
                )
    wrong += _findings(staff, MISLEADING_PREFIXES)
    if wrong:
        wrong.sort(key=lambda e: (e.turn or 0, e.start))
        return Outcome.FAIL, wrong, "保障说明与条款不符"
    statement = _first(card, ItemId.ACCURACY, "coverage", staff)
    if statement is None:
        return Outcome.NA, [], "未涉及保障范围的说明"
    return Outcome.PASS, [statement], "保障说明与条款一致"


def _redlines(staff: list[tuple[int, ContactTurn]]) -> tuple[Outcome, list[Evidence], str]:
    found = _findings(staff)
    if found:
        return Outcome.FAIL, found, f"触碰红线 {len(found)} 处"
    return Outcome.PASS, [], "未触碰红线"


def _next_step(
    card: Scorecard, contact: ContactRecord, staff: list[tuple[int, ContactTurn]]
) -> tuple[Outcome, list[Evidence], str]:
    item = card.item(ItemId.NEXT_STEP)
    opened = _first(card, ItemId.NEXT_STEP, "open", staff)
    # the saved disposition and the draft's are each wrong often enough (one in five saved is
    # wrong by design of the guide): only both together open the item without the words
    both = contact.disposition == contact.suggested_disposition
    agreed = contact.disposition if both else ""
    open_by = agreed if agreed in item.open_dispositions else None
    if opened is None and open_by is None:
        return Outcome.NA, [], "无待办事项"
    why = [opened] if opened else [Evidence(span=str(open_by), source="disposition")]
    when = _first(card, ItemId.NEXT_STEP, "time", staff)
    if when is None:
        return Outcome.FAIL, why, "有待办事项但未说明下一步和时限"
    return Outcome.PASS, [*why, when], "说明了下一步和时限"


def _disposition(contact: ContactRecord) -> tuple[Outcome, list[Evidence], str]:
    if not contact.disposition:
        return Outcome.NA, [], "未保存处理结果"
    evidence = Evidence(
        span=contact.disposition,
        source="disposition",
        note=f"suggested: {contact.suggested_disposition or '-'}",
    )
    if contact.disposition == contact.suggested_disposition:
        return Outcome.PASS, [evidence], "处理结果与通话内容相符"
    return Outcome.FAIL, [evidence], f"建议的处理结果为「{contact.suggested_disposition}」"


def _closing(
    card: Scorecard, staff: list[tuple[int, ContactTurn]]
) -> tuple[Outcome, list[Evidence], str]:
    found = _first(card, ItemId.CLOSING, "closing", staff[-2:])
    if found is None:
        return Outcome.FAIL, [], "最后两句没有结束语"
    return Outcome.PASS, [found], "有规范的结束语"


def score_contact(contact: ContactRecord, card: Scorecard, now: datetime) -> QaResult:
    """Score one finished contact on every item of the scorecard (pure).

    Args:
        contact: the contact, its turns carrying the live view's readings (``upset``) and the
            guard's findings on the company's turns.
        card: the scorecard.
        now: when it was scored.

    Returns:
        Each item pass, fail or na with its evidence; the weighted score over applicable items
        (None when none applies); the number of red-line findings on the company's turns.
    """
    staff = _staff_turns(contact)
    decided = {
        ItemId.GREETING_IDENTITY: lambda: _greeting_identity(card, staff),
        ItemId.EMPATHY: lambda: _empathy(card, contact, staff),
        ItemId.ACCURACY: lambda: _accuracy(card, staff),
        ItemId.REDLINES: lambda: _redlines(staff),
        ItemId.NEXT_STEP: lambda: _next_step(card, contact, staff),
        ItemId.DISPOSITION: lambda: _disposition(contact),
        ItemId.CLOSING: lambda: _closing(card, staff),
    }
    scores: list[ItemScore] = []
    for item in card.items:
        if contact.kind in item.applies_to:
            outcome, evidence, reason = decided[item.id]()
        else:
            outcome, evidence, reason = Outcome.NA, [], "不适用于此类会话"
        scores.append(
            ItemScore(
                item=item.id.value,
                label=item.label,
                outcome=outcome,
                weight=item.weight,
                evidence=evidence,
                reason=reason,
            )
        )
    applicable = sum(s.weight for s in scores if s.outcome is not Outcome.NA)
    passed = sum(s.weight for s in scores if s.outcome is Outcome.PASS)
    return QaResult(
        scorecard=card.title,
        items=scores,
        score=round(100 * passed / applicable, 1) if applicable else None,
        redlines=len(_findings(staff)),
        scored_at=now,
    )
