"""The compliance guard: red-line rules (trainer-editable YAML) checked on agent text (pure).

Sentences are split on 。！？!?；; and line breaks (not on commas: ``core.rules.sentences``); a
rule fires when one of its patterns matches a sentence and none of its ``unless`` patterns matches
the same sentence. Matching is the shared ``core.rules`` matcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, computed_field, field_validator

from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, sentences


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


class RuleFile(BaseModel):
    """The whole rule file."""

    rules: list[ComplianceRule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[ComplianceRule]) -> list[ComplianceRule]:
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
        return rules


class Finding(BaseModel):
    """One red line crossed: where, which rule, why, and what to say instead."""

    rule: str
    category: RuleCategory
    severity: Severity
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str = Field(description="the words that matched")
    sentence: str
    reason: str
    rewrite: str


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
    """Checks agent text against the rules; stateless and thread-safe."""

    def __init__(self, rules: RuleFile) -> None:
        self.rules = rules.rules
        # a rule fires once per sentence, on the first of its patterns that matches
        self._matcher = RuleMatcher(
            [PatternRule.compile(r.patterns, r.unless) for r in self.rules],
            sentences,
            Occurrence.FIRST_PER_RULE,
        )

    @classmethod
    def load(cls, path: Path) -> ComplianceGuard:
        """Read and validate the rule file.

        Raises:
            ConfigurationError: missing file, bad YAML or an invalid rule, naming the file.
        """
        return cls(read_yaml(path, RuleFile))

    @classmethod
    def from_rules(cls, rules: Sequence[ComplianceRule]) -> ComplianceGuard:
        """A guard over rules validated one by one (the shipped file merged with the studio's
        published rules). Unlike a rule file, the list may be empty: every rule can be retired.
        """
        return cls(RuleFile.model_construct(rules=list(rules)))

    def check(self, text: str) -> ComplianceReport:
        """Every finding in the text, in order of position (one per rule and sentence)."""
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
        findings.sort(key=lambda f: (f.start, f.rule))
        return ComplianceReport(text=text, findings=findings)

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
