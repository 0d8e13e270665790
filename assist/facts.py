"""The facts of a call for its wrap-up, extracted by trainer-editable rules (pure).

``data/assist/wrapup.yaml`` holds four sections of rules: what happened (``events``), what the
caller wants (``requests``), what the agent did or promised (``commitments``) and what happens
next (``next_steps``). A rule fires on the first turn, by a speaker it listens to, where one of
its ``patterns`` matches a sentence that none of its ``unless`` patterns matches (the shared
``core.rules`` matcher, one sentence at a time as the compliance guard does), provided one of its
``requires`` patterns, if any, matches somewhere in the call. Its label may name the pattern's
named groups (``{when}``), filled from the words that matched. The agent's compliance findings
come from the guard's checks already in the call's assist views.

The facts are what the summary states; an LLM, when configured, may only rephrase them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from string import Formatter

from pydantic import BaseModel, Field, field_validator, model_validator

from assist.models import AgentAssist, Disposition
from conversation.models import Speaker, Turn
from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, sentences
from prompts.guard import RuleCategory, Severity

MAX_FACTS = {"events": 4, "requests": 4, "commitments": 8, "next_steps": 3}
"""How many facts of each section a summary keeps (the first ones, in call order)."""


class FactSection(StrEnum):
    """The sections of the wrap-up rule file, each one kind of fact."""

    EVENTS = "events"
    REQUESTS = "requests"
    COMMITMENTS = "commitments"
    NEXT_STEPS = "next_steps"


DEFAULT_SPEAKERS: dict[FactSection, tuple[Speaker, ...]] = {
    FactSection.EVENTS: (Speaker.CUSTOMER,),
    FactSection.REQUESTS: (Speaker.CUSTOMER,),
    FactSection.COMMITMENTS: (Speaker.AGENT,),
    FactSection.NEXT_STEPS: (Speaker.AGENT, Speaker.CUSTOMER),
}
"""Whose turns a rule listens to when it does not say (``speakers``)."""


def _placeholders(label: str) -> list[str]:
    return [name for _, name, _, _ in Formatter().parse(label) if name is not None]


class FactRule(BaseModel):
    """One rule as written in ``data/assist/wrapup.yaml``."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    label: str = Field(min_length=1, description="the fact in the summary; {group} placeholders")
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    requires: list[str] = Field(
        default_factory=list, description="one must match somewhere in the call (any speaker)"
    )
    speakers: list[Speaker] | None = Field(default=None, description="None: the section's own")
    replaces: list[str] = Field(
        default_factory=list, description="rules of the same section this one supersedes"
    )
    generic: bool = Field(default=False, description="kept only when no other rule fired")
    disposition: Disposition | None = Field(
        default=None, description="commitments only: the disposition this one implies"
    )

    _compiles = field_validator("patterns", "unless", "requires")(check_patterns)

    @model_validator(mode="after")
    def _placeholders_are_groups(self) -> FactRule:
        names = _placeholders(self.label)
        for pattern in self.patterns:
            missing = [n for n in names if n not in re.compile(pattern).groupindex]
            if missing:
                raise ValueError(
                    f"rule {self.id}: label placeholder {{{missing[0]}}} is not a named group "
                    f"(?P<{missing[0]}>...) of pattern {pattern!r}"
                )
        return self


class FactFile(BaseModel):
    """The whole wrap-up rule file."""

    events: list[FactRule] = Field(min_length=1)
    requests: list[FactRule] = Field(min_length=1)
    commitments: list[FactRule] = Field(min_length=1)
    next_steps: list[FactRule] = Field(min_length=1)

    def section(self, section: FactSection) -> list[FactRule]:
        """The rules of one section, in file order."""
        rules: list[FactRule] = getattr(self, section.value)
        return rules

    @model_validator(mode="after")
    def _consistent(self) -> FactFile:
        ids = [r.id for s in FactSection for r in self.section(s)]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
        for section in FactSection:
            own = {r.id for r in self.section(section)}
            for rule in self.section(section):
                unknown = [r for r in rule.replaces if r not in own or r == rule.id]
                if unknown:
                    raise ValueError(
                        f"rule {rule.id} replaces {unknown[0]!r}, not another rule of {section}"
                    )
                if rule.disposition is not None and section is not FactSection.COMMITMENTS:
                    raise ValueError(f"rule {rule.id}: only commitments carry a disposition")
        return self


class Fact(BaseModel):
    """One fact of the call, and where it was found."""

    rule: str
    label: str = Field(description="as the summary states it")
    turn: int = Field(ge=0, description="the turn it was first found in (0-based)")
    speaker: Speaker
    words: str = Field(description="the words that matched")
    disposition: Disposition | None = None


class AgentFinding(BaseModel):
    """A red line the agent crossed during the call (the guard's check of an agent turn)."""

    turn: int = Field(ge=0)
    rule: str
    category: RuleCategory
    severity: Severity
    words: str = Field(description="the agent's words that matched")
    reason: str = Field(description="the rule's reason, first sentence")


class CallFacts(BaseModel):
    """What the wrap-up states: the event, the caller's requests, what the agent did or
    promised, the next steps, and the agent's compliance findings."""

    events: list[Fact] = Field(default_factory=list)
    requests: list[Fact] = Field(default_factory=list)
    commitments: list[Fact] = Field(default_factory=list)
    next_steps: list[Fact] = Field(default_factory=list)
    findings: list[AgentFinding] = Field(default_factory=list)


@dataclass(frozen=True)
class _Section:
    rules: tuple[FactRule, ...]
    compiled: tuple[PatternRule, ...]
    requires: tuple[tuple[re.Pattern[str], ...], ...]
    matcher: RuleMatcher


class FactBook:
    """Extracts a call's facts with the wrap-up rules; stateless and thread-safe."""

    def __init__(self, spec: FactFile) -> None:
        self.spec = spec
        self._sections: dict[FactSection, _Section] = {}
        for section in FactSection:
            rules = tuple(spec.section(section))
            compiled = tuple(PatternRule.compile(r.patterns, r.unless) for r in rules)
            self._sections[section] = _Section(
                rules=rules,
                compiled=compiled,
                requires=tuple(tuple(re.compile(p) for p in r.requires) for r in rules),
                matcher=RuleMatcher(compiled, sentences, Occurrence.FIRST_PER_RULE),
            )

    @classmethod
    def load(cls, path: Path) -> FactBook:
        """Read and validate the wrap-up rule file.

        Raises:
            ConfigurationError: missing file, bad YAML, an invalid rule, regex or placeholder,
                naming the file.
        """
        return cls(read_yaml(path, FactFile))

    def extract(self, turns: Sequence[Turn], history: Sequence[AgentAssist] = ()) -> CallFacts:
        """The facts of a call.

        Args:
            turns: every turn of the call, in order.
            history: the assist views of the call (their ``turn`` numbers index ``turns``); the
                agent's compliance findings are read from them.

        Returns:
            The facts, each section in call order, capped at ``MAX_FACTS``.
        """
        found = {section: self._section(section, turns) for section in FactSection}
        return CallFacts(
            events=found[FactSection.EVENTS],
            requests=found[FactSection.REQUESTS],
            commitments=found[FactSection.COMMITMENTS],
            next_steps=found[FactSection.NEXT_STEPS],
            findings=agent_findings(history),
        )

    def _section(self, section: FactSection, turns: Sequence[Turn]) -> list[Fact]:
        part = self._sections[section]
        default = DEFAULT_SPEAKERS[section]
        fired: dict[int, tuple[Fact, int]] = {}  # rule index -> (fact, position in its turn)
        for number, turn in enumerate(turns):
            for match in part.matcher.find(turn.text):
                rule = part.rules[match.rule]
                if match.rule in fired or turn.speaker not in (rule.speakers or default):
                    continue
                if part.requires[match.rule] and not any(
                    p.search(t.text) for p in part.requires[match.rule] for t in turns
                ):
                    continue
                pattern = part.compiled[match.rule].patterns[match.pattern]
                # the same pattern at the same place gives the same match, now with its groups
                again = pattern.match(match.segment.text, match.start - match.segment.start)
                groups = {k: v or "" for k, v in again.groupdict().items()} if again else {}
                fact = Fact(
                    rule=rule.id,
                    label=rule.label.format(**groups).strip().rstrip("。；;"),
                    turn=number,
                    speaker=turn.speaker,
                    words=match.text,
                    disposition=rule.disposition,
                )
                fired[match.rule] = (fact, match.start)
        replaced = {r for i in fired for r in part.rules[i].replaces}
        kept = [i for i in fired if part.rules[i].id not in replaced]
        if any(not part.rules[i].generic for i in kept):
            kept = [i for i in kept if not part.rules[i].generic]
        facts: list[Fact] = []
        for index in sorted(kept, key=lambda i: (fired[i][0].turn, fired[i][1], i)):
            fact = fired[index][0]
            if all(f.label != fact.label for f in facts):
                facts.append(fact)
        return _capped(facts, MAX_FACTS[section.value])


def _capped(facts: list[Fact], limit: int) -> list[Fact]:
    """The first ``limit`` facts in call order, those that imply a disposition kept first (a
    complaint registered at the end of a long call outweighs an explanation at its start)."""
    if len(facts) <= limit:
        return facts
    weighty = [f for f in facts if f.disposition is not None][:limit]
    rest = [f for f in facts if f.disposition is None][: limit - len(weighty)]
    keep = {id(f) for f in weighty + rest}
    return [f for f in facts if id(f) in keep]


def agent_findings(history: Sequence[AgentAssist]) -> list[AgentFinding]:
    """The compliance findings on the agent's turns, in call order (one per rule and wording).

    Args:
        history: the call's assist views; only the agent's turns are read (the bot's text is the
            product's own and was guarded before it was sent).

    Returns:
        The findings, each with its turn and the first sentence of its rule's reason.
    """
    findings: list[AgentFinding] = []
    seen: set[tuple[str, str]] = set()
    for view in history:
        if view.speaker is not Speaker.AGENT or view.compliance is None:
            continue
        for finding in view.compliance.findings:
            if (finding.rule, finding.text) in seen:
                continue
            seen.add((finding.rule, finding.text))
            findings.append(
                AgentFinding(
                    turn=view.turn,
                    rule=finding.rule,
                    category=finding.category,
                    severity=finding.severity,
                    words=finding.text,
                    reason=_first_sentence(finding.reason),
                )
            )
    return findings


def _first_sentence(text: str) -> str:
    head = re.split(r"(?<=[。！？!?；;])", text.strip(), maxsplit=1)[0]
    return head.rstrip("。；;")
