"""The compliance guard: red-line rules (trainer-editable YAML) plus an optional learned sentence
judge, checked on agent text.

Sentences are split on 。！？!?；; and line breaks (not on commas: ``core.rules.sentences``); a
rule fires when one of its patterns matches a sentence and none of its ``unless`` patterns matches
the same sentence. Matching is the shared ``core.rules`` matcher.

Rules are exact on the phrasings they list; the judge (``compliance.classifier``, trained at
set-up from labelled replies) generalises to paraphrases. A sentence no rule flags is flagged by
the judge when its probability of crossing a red line reaches the judge's trained threshold: the
finding covers the sentence, names the likely category, says it comes from the model and how sure
the model is, and carries the category's reason and rewording from the rule file. This module
only knows the judge as a ``SentenceJudge``; the rules part stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from core.errors import ConfigurationError
from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, sentences

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
"""The judge learned Chinese agent replies: a sentence without a Chinese character (the English
switch's fixed messages, a reference number) is left to the rules."""


class RuleCategory(StrEnum):
    """What kind of red line a rule guards."""

    PROMISE = "promise"
    AMOUNT_OR_DATE = "amount_or_date"
    LIABILITY = "liability"
    DISPARAGE = "disparage"
    PRIVACY = "privacy"
    MISLEADING = "misleading"
    OFF_CHANNEL = "off_channel"
    """Outside links, personal contact details, documents sent anywhere but the official app."""
    COACHING = "coaching"
    """Coaching the customer to misstate facts or inflate the loss."""
    BYPASS = "bypass"
    """A "special approval", an internal favour or an amount settled outside the process."""


class Severity(StrEnum):
    """How bad a finding is."""

    HIGH = "high"
    MEDIUM = "medium"


class ComplianceRule(BaseModel):
    """One red line as written in ``prompts/compliance_rules.yaml``."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    category: RuleCategory
    severity: Severity
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    reason: str = Field(min_length=1)
    rewrite: str = Field(min_length=1)

    _compiles = field_validator("patterns", "unless")(check_patterns)


class CategoryText(BaseModel):
    """What a model finding of a category says: why it is a red line and what to say instead."""

    reason: str = Field(min_length=1)
    rewrite: str = Field(min_length=1)


class RuleFile(BaseModel):
    """The whole rule file: the rules, and the texts of findings that come from the model."""

    rules: list[ComplianceRule] = Field(min_length=1)
    categories: dict[RuleCategory, CategoryText] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _every_category(
        cls, value: dict[RuleCategory, CategoryText]
    ) -> dict[RuleCategory, CategoryText]:
        missing = [c.value for c in RuleCategory if c not in value]
        if value and missing:
            raise ValueError(f"categories: no reason and rewrite for {', '.join(missing)}")
        return value

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[ComplianceRule]) -> list[ComplianceRule]:
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
        return rules


class FindingSource(StrEnum):
    """Who found it: a written rule, or the learned judge."""

    RULE = "rule"
    MODEL = "model"


MODEL_RULE_PREFIX = "model-"
"""A model finding's ``rule`` is this prefix and its category (``model-promise``)."""


class Finding(BaseModel):
    """One red line crossed: where, which rule, why, and what to say instead."""

    rule: str = Field(description="the rule's id, or model-<category> for the judge's findings")
    category: RuleCategory
    severity: Severity
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str = Field(description="the words that matched")
    sentence: str
    reason: str
    rewrite: str
    source: FindingSource = FindingSource.RULE
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="the judge's probability (model findings only)"
    )


class SentenceVerdict(BaseModel):
    """The judge's reading of one sentence."""

    model_config = ConfigDict(frozen=True)

    probability: float = Field(ge=0, le=1, description="P(the sentence crosses a red line)")
    category: RuleCategory = Field(description="the most likely category")
    flagged: bool = Field(description="the probability reached the judge's threshold")


class SentenceJudge(Protocol):
    """A learned judge of agent sentences (``compliance.classifier.GuardClassifier``)."""

    def judge(self, sentences: Sequence[str]) -> list[SentenceVerdict]:
        """One verdict per sentence, in order."""
        ...


class ComplianceReport(BaseModel):
    """The guard's verdict on one text."""

    text: str
    findings: list[Finding] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def compliant(self) -> bool:
        """No red line crossed."""
        return not self.findings

    @property
    def rules(self) -> list[str]:
        """Ids of the rules that fired, in order of first appearance."""
        return list(dict.fromkeys(f.rule for f in self.findings))


class ComplianceGuard:
    """Checks agent text against the rules and, when given one, the learned judge.

    Thread-safe when the judge is: the rules are compiled once and read-only.

    Args:
        rules: the red-line rules (possibly none: every rule can be retired in the studio).
        categories: the reason and rewording of a model finding, per category.
        judge: the learned sentence judge; None checks the rules alone.
    """

    def __init__(
        self,
        rules: Sequence[ComplianceRule],
        categories: Mapping[RuleCategory, CategoryText] | None = None,
        judge: SentenceJudge | None = None,
    ) -> None:
        self.rules = list(rules)
        self.categories = dict(categories or {})
        self.judge = judge
        # a rule fires once per sentence, on the first of its patterns that matches
        self._matcher = RuleMatcher(
            [PatternRule.compile(r.patterns, r.unless) for r in self.rules],
            sentences,
            Occurrence.FIRST_PER_RULE,
        )

    @classmethod
    def load(cls, path: Path) -> ComplianceGuard:
        """Read and validate the rule file (a guard without a judge).

        Raises:
            ConfigurationError: missing file, bad YAML or an invalid rule, naming the file.
        """
        file = read_yaml(path, RuleFile)
        return cls(file.rules, file.categories)

    @classmethod
    def from_rules(cls, rules: Sequence[ComplianceRule]) -> ComplianceGuard:
        """A rules-only guard over rules validated one by one (no category texts, no judge)."""
        return cls(rules)

    def with_rules(self, rules: Sequence[ComplianceRule]) -> ComplianceGuard:
        """The same guard (category texts, judge) over other rules: the shipped file merged with
        the studio's published rules. Unlike a rule file, the list may be empty."""
        return ComplianceGuard(rules, self.categories, self.judge)

    def with_judge(self, judge: SentenceJudge | None) -> ComplianceGuard:
        """The same rules with a learned judge (None: rules only).

        Raises:
            ConfigurationError: a judge, but the rule file gives no reason and rewording for
                model findings (its ``categories`` section).
        """
        if judge is not None and not self.categories:
            raise ConfigurationError(
                "the compliance rule file has no `categories:` section: a model finding needs "
                "each category's reason and rewrite"
            )
        return ComplianceGuard(self.rules, self.categories, judge)

    def check(self, text: str) -> ComplianceReport:
        """Every finding in the text, in order of position (one per rule and sentence; a sentence
        no rule flags may carry one model finding)."""
        findings: list[Finding] = []
        for match in self._matcher.find(text):
            rule = self.rules[match.rule]
            findings.append(
                Finding(
                    rule=rule.id,
                    category=rule.category,
                    severity=rule.severity,
                    start=match.start,
                    end=match.end,
                    text=match.text,
                    sentence=match.segment.text.strip(),
                    reason=rule.reason,
                    rewrite=rule.rewrite,
                )
            )
        if self.judge is not None:
            findings.extend(self._model_findings(text, findings))
        findings.sort(key=lambda f: (f.start, f.rule))
        return ComplianceReport(text=text, findings=findings)

    def _model_findings(self, text: str, by_rules: Sequence[Finding]) -> list[Finding]:
        assert self.judge is not None
        flagged = [(f.start, f.end) for f in by_rules]
        open_sentences = [
            s
            for s in sentences(text)
            if _CHINESE.search(s.text) and not any(s.start <= a < s.end for a, _ in flagged)
        ]
        if not open_sentences:
            return []
        verdicts = self.judge.judge([s.text.strip() for s in open_sentences])
        found: list[Finding] = []
        for segment, verdict in zip(open_sentences, verdicts, strict=True):
            if not verdict.flagged:
                continue
            words = segment.text.strip()
            start = segment.start + segment.text.index(words)
            texts = self.categories[verdict.category]
            found.append(
                Finding(
                    rule=MODEL_RULE_PREFIX + verdict.category.value,
                    category=verdict.category,
                    severity=Severity.MEDIUM,
                    start=start,
                    end=start + len(words),
                    text=words,
                    sentence=words,
                    reason=texts.reason,
                    rewrite=texts.rewrite,
                    source=FindingSource.MODEL,
                    confidence=round(verdict.probability, 3),
                )
            )
        return found

    def sanitize(self, text: str) -> tuple[str, ComplianceReport]:
        """Replace each offending sentence with its rule's compliant rewording.

        Used on text the product itself produces (templates, LLM output) before it is shown.

        Returns:
            The cleaned text and the report on the original.
        """
        report = self.check(text)
        if report.compliant:
            return text, report
        replaced: dict[str, str] = {}
        for finding in report.findings:
            replaced.setdefault(finding.sentence, finding.rewrite)
        cleaned = text
        for sentence, rewrite in replaced.items():
            cleaned = cleaned.replace(sentence, rewrite)
        return cleaned, report
