"""辅助定责: who is responsible for a simple two-car accident, from rules as data (pure).

The rules (``data/chatbot/fault_rules.yaml``) restate, in our own words, the published rules
for the quick handling of minor accidents (交通事故快速处理). ``judge_fault`` first checks the
answers that make a case not simple (injury, dispute, drunk driving, no insurance, more than
two vehicles, public property); then the scenario and the customer's role decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from chatbot.understanding import normalise
from core.files import check_patterns, read_yaml
from core.rules import Occurrence, PatternRule, RuleMatcher, whole

AnswerValue = str | bool | list[str] | None


class NotSimpleRule(BaseModel):
    """An answer that takes a case out of quick handling."""

    answer: str = Field(min_length=1, description="the slot name")
    equals: str | bool
    reason: str = Field(min_length=1, description="told to the customer and the agent")


class FaultRole(BaseModel):
    """One side of a scenario."""

    key: str = Field(min_length=1)
    label: str = Field(min_length=1)
    patterns: list[str] = Field(default_factory=list)

    _compiles = field_validator("patterns")(check_patterns)


class FaultScenario(BaseModel):
    """One kind of simple accident, its two roles and the role that is fully responsible."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    roles: list[FaultRole] = Field(min_length=2, max_length=2)
    at_fault: str
    rule: str = Field(min_length=1, description="the rule cited, in our own words")

    _compiles = field_validator("patterns")(check_patterns)

    @model_validator(mode="after")
    def _at_fault_is_a_role(self) -> FaultScenario:
        if self.at_fault not in {r.key for r in self.roles}:
            raise ValueError(f"scenario {self.id!r}: at_fault {self.at_fault!r} is not a role")
        return self


class FaultRulesFile(BaseModel):
    """The whole fault rule file."""

    not_simple: list[NotSimpleRule] = Field(min_length=1)
    scenarios: list[FaultScenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> FaultRulesFile:
        ids = [s.id for s in self.scenarios]
        if len(ids) != len(set(ids)):
            raise ValueError("scenario ids must be unique")
        return self


class FaultJudgement(BaseModel):
    """The outcome of 辅助定责."""

    simple: bool
    reason: str | None = Field(default=None, description="why the case is not simple")
    scenario: str | None = Field(default=None, description="the scenario id")
    scenario_name: str | None = None
    responsible: Literal["customer", "other_party"] | None = None
    rule: str | None = Field(default=None, description="the rule cited")


class FaultRules:
    """Compiled fault rules; every method is pure."""

    def __init__(self, spec: FaultRulesFile) -> None:
        self.spec = spec
        self._scenarios = RuleMatcher(
            [PatternRule.compile(s.patterns) for s in spec.scenarios],
            whole,
            Occurrence.FIRST_PER_RULE,
        )
        self._roles = {
            s.id: RuleMatcher(
                [PatternRule.compile(r.patterns) for r in s.roles], whole, Occurrence.FIRST_PER_RULE
            )
            for s in spec.scenarios
        }

    @classmethod
    def load(cls, path: Path) -> FaultRules:
        """Read and validate a fault rule file.

        Raises:
            ConfigurationError: a missing file, bad YAML or an invalid entry, naming the file.
        """
        return cls(read_yaml(path, FaultRulesFile))

    def scenario(self, description: str) -> FaultScenario | None:
        """The first scenario whose words occur in the description, or None."""
        matches = self._scenarios.find(normalise(description))
        return self.spec.scenarios[min(m.rule for m in matches)] if matches else None

    def by_id(self, scenario_id: str) -> FaultScenario | None:
        """The scenario with this id."""
        return next((s for s in self.spec.scenarios if s.id == scenario_id), None)

    def role(self, scenario: FaultScenario, answer: str) -> str | None:
        """The customer's role in the scenario, from their words or the option number."""
        text = normalise(answer).strip(" .!?。")
        if text in ("1", "第一个", "一", "第1个"):
            return scenario.roles[0].key
        if text in ("2", "第二个", "二", "第2个"):
            return scenario.roles[1].key
        matches = self._roles[scenario.id].find(text)
        if not matches:
            return None
        return scenario.roles[min(m.rule for m in matches)].key

    def not_simple(self, answers: Mapping[str, AnswerValue]) -> str | None:
        """The first reason the answers so far make the case not simple, or None."""
        for rule in self.spec.not_simple:
            if rule.answer in answers and answers[rule.answer] == rule.equals:
                return rule.reason
        return None

    def judge_fault(self, answers: Mapping[str, AnswerValue]) -> FaultJudgement:
        """Who is responsible, with the rule cited; or not simple, with the reason.

        Args:
            answers: the fault-finding slots: ``vehicles``, ``injuries``, ``drunk``,
                ``insured``, ``public_property``, ``dispute``, ``scenario`` (a scenario id)
                and ``role`` (a role key of that scenario).

        Returns:
            The judgement; not simple when an answer rules quick handling out, or when the
            scenario or the role is missing or unknown (no rule fits).
        """
        reason = self.not_simple(answers)
        if reason is not None:
            return FaultJudgement(simple=False, reason=reason)
        scenario = self.by_id(str(answers.get("scenario") or ""))
        if scenario is None:
            return FaultJudgement(simple=False, reason="事故经过不属于可以快速定责的常见情形")
        role = answers.get("role")
        if role not in {r.key for r in scenario.roles}:
            return FaultJudgement(simple=False, reason="无法确定您在事故中的位置")
        return FaultJudgement(
            simple=True,
            scenario=scenario.id,
            scenario_name=scenario.name,
            responsible="customer" if role == scenario.at_fault else "other_party",
            rule=scenario.rule,
        )
