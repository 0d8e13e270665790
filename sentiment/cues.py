"""Cue rules for caller emotion (escalation, repeats, profanity, urgency) and situations.

The rules live in a YAML file trainers edit (``data/sentiment/cues.yaml``); matching is pure,
clause by clause (``core.rules.clauses``), with the shared ``core.rules`` matcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from core.files import check_patterns, read_yaml
from core.models import CueKind, CueMatch
from core.rules import Occurrence, PatternRule, RuleMatcher, clauses

GENERAL_SITUATION = "general"
"""The situation of an utterance (or a call) whose words name none; its scripts fit any call."""


class CueRule(BaseModel):
    """One rule as written in the YAML file."""

    id: str = Field(min_length=1)
    kind: CueKind
    weight: float = Field(ge=0, le=1)
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)

    _compiles = field_validator("patterns", "unless")(check_patterns)


class SituationRule(BaseModel):
    """The words that say what a call is about, and the words that cancel them in a clause
    (``赔不赔`` asks whether a loss is covered; it is not a refusal)."""

    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)

    _compiles = field_validator("patterns", "unless")(check_patterns)


class CueFile(BaseModel):
    """The whole cue file."""

    rules: list[CueRule]
    situations: dict[str, SituationRule] = Field(default_factory=dict)

    @field_validator("situations", mode="before")
    @classmethod
    def _plain_lists(cls, value: object) -> object:
        # a situation written as a plain list of patterns has no ``unless``
        if isinstance(value, dict):
            return {k: {"patterns": v} if isinstance(v, list) else v for k, v in value.items()}
        return value

    @field_validator("situations")
    @classmethod
    def _named_situations(cls, value: dict[str, SituationRule]) -> dict[str, SituationRule]:
        if GENERAL_SITUATION in value:
            raise ValueError(
                f"{GENERAL_SITUATION!r} is what a call without a situation is; it needs no words"
            )
        return value


class CueBook:
    """Compiled cue rules and situation words."""

    def __init__(self, spec: CueFile) -> None:
        self.spec = spec
        self._matcher = RuleMatcher(
            [PatternRule.compile(r.patterns, r.unless) for r in spec.rules],
            clauses,
            Occurrence.EVERY,
        )
        self._situation_names = list(spec.situations)
        self._situations = RuleMatcher(
            [PatternRule.compile(r.patterns, r.unless) for r in spec.situations.values()],
            clauses,
            Occurrence.FIRST_PER_RULE,
        )

    @classmethod
    def load(cls, path: Path) -> CueBook:
        """Read and validate a cue file.

        Raises:
            ConfigurationError: missing file, bad YAML, or a rule that does not validate.
        """
        return cls(read_yaml(path, CueFile))

    @property
    def rule_ids(self) -> list[str]:
        """Rule ids in file order (the classifier's cue features follow this order)."""
        return [r.id for r in self.spec.rules]

    def find(self, text: str) -> list[CueMatch]:
        """Every rule match in the text, in order of position.

        A rule's ``unless`` patterns cancel its matches within the same clause of the sentence.
        """
        matches: list[CueMatch] = []
        for found in self._matcher.find(text):
            rule = self.spec.rules[found.rule]
            matches.append(
                CueMatch(
                    rule=rule.id,
                    kind=rule.kind,
                    text=found.text,
                    start=found.start,
                    end=found.end,
                    weight=rule.weight,
                )
            )
        return _dedupe(matches)

    @property
    def situations(self) -> list[str]:
        """The situations the cue book can tell, in file order (``general`` is not one)."""
        return list(self._situation_names)

    def situation(self, text: str) -> str:
        """The first situation (file order) whose words occur outside a clause that cancels
        them, else ``general``."""
        found = self._situations.find(text)
        if not found:
            return GENERAL_SITUATION
        return self._situation_names[min(f.rule for f in found)]


def _dedupe(matches: list[CueMatch]) -> list[CueMatch]:
    """One match per (rule, span); overlapping spans of the same rule keep the longest."""
    ordered = sorted(matches, key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[CueMatch] = []
    for match in ordered:
        if any(k.rule == match.rule and k.start <= match.start < k.end for k in kept):
            continue
        kept.append(match)
    return kept


def cue_features(matches: list[CueMatch], rule_ids: list[str]) -> list[float]:
    """Per-rule match counts, capped at 2, in rule order (for the classifier head)."""
    counts = dict.fromkeys(rule_ids, 0)
    for match in matches:
        if match.rule in counts:
            counts[match.rule] += 1
    return [min(counts[r], 2) / 2 for r in rule_ids]


def cue_boost(matches: Sequence[CueMatch]) -> float:
    """Intensity added by cues: the sum of distinct rules' weights (a rule counts once)."""
    by_rule: dict[str, float] = {}
    for match in matches:
        by_rule[match.rule] = match.weight
    return sum(by_rule.values())
