"""Tiered authority (分层授权): what an agent of each level may grant on a call (pure).

The limits are data (``data/quality/authority.yaml``, edited by a supervisor): per action
(goodwill, fast-track payment, fee waiver) a Chinese label, a maximum amount in 元 per agent level
(0 = not allowed) and the agent phrasings that promise it. ``decide`` says whether an amount is
within a level's limit; ``promise_findings`` turns an agent sentence promising more than the
level may grant into a compliance finding (matched with the one rule matcher, ``core.rules``).
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.errors import PolicyDeskError
from core.files import check_patterns, read_yaml
from core.numerals import spoken_amount
from core.rules import Occurrence, PatternRule, RuleMatcher, sentences
from prompts.guard import Finding, RuleCategory, Severity

MAX_AMOUNT = 1_000_000.0
"""No single goodwill, fast-track or waiver amount is larger (in 元): a larger one is a typo."""

AMOUNT_PLACEHOLDER = "{amount}"
_CHINESE_NUMERAL = "零〇一二两三四五六七八九十百千万"
AMOUNT_PATTERN = rf"(?:\d+(?:\.\d+)?\s*[万千]?|[{_CHINESE_NUMERAL}]+)"
"""What ``{amount}`` in a promise pattern stands for: 500, 1.2万, 5千, 五千, 一万二."""
# an amount in a matched promise; a numeral counting things (一个, 两份) is not one
_AMOUNT = re.compile(AMOUNT_PATTERN + r"(?![个份张次位件\d.])")


class Level(StrEnum):
    """An agent's authority level, lowest first."""

    BASIC = "basic"
    SENIOR = "senior"
    EXPERT = "expert"


LEVEL_LABELS: dict[Level, str] = {Level.BASIC: "基础", Level.SENIOR: "高级", Level.EXPERT: "专家"}


class AuthorityAction(StrEnum):
    """Something an agent may grant a customer up to their level's limit."""

    GOODWILL = "goodwill"
    """慰问补偿/礼品: a goodwill payment or gift."""
    FAST_TRACK = "fast_track"
    """小额快赔: paying a small claim at once, without the full assessment."""
    FEE_WAIVER = "fee_waiver"
    """费用减免: waiving or reducing a fee."""


class AuthorityError(PolicyDeskError):
    """A value the authority rules cannot take (an unknown level or action, a bad amount);
    names the value."""


class ActionRule(BaseModel):
    """One action as written in the authority file."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1)
    limits: dict[Level, float]
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)

    @field_validator("patterns", "unless")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        return check_patterns([_expand(p) for p in patterns]) and patterns

    @field_validator("limits")
    @classmethod
    def _every_level(cls, limits: dict[Level, float]) -> dict[Level, float]:
        missing = [level.value for level in Level if level not in limits]
        if missing:
            raise ValueError(f"no limit for the level(s) {', '.join(missing)}")
        for level, amount in limits.items():
            if not (math.isfinite(amount) and 0 <= amount <= MAX_AMOUNT):
                raise ValueError(
                    f"the {level.value} limit {amount!r} is not an amount from 0 to {MAX_AMOUNT:g}"
                )
        ordered = [limits[level] for level in Level]
        if ordered != sorted(ordered):
            raise ValueError(f"a higher level has a lower limit than the level below it: {ordered}")
        return limits


class AuthorityLimits(BaseModel):
    """The whole authority file: level labels, every action's limits and promise phrasings."""

    model_config = ConfigDict(frozen=True)

    levels: dict[Level, str] = Field(default_factory=lambda: dict(LEVEL_LABELS))
    actions: dict[AuthorityAction, ActionRule]
    unless: list[str] = Field(
        default_factory=list, description="phrasings that are never a promise, for every action"
    )

    _compiles = field_validator("unless")(check_patterns)

    @model_validator(mode="after")
    def _complete(self) -> AuthorityLimits:
        missing = [a.value for a in AuthorityAction if a not in self.actions]
        if missing:
            raise ValueError(f"no limits for the action(s) {', '.join(missing)}")
        return self

    def limit(self, level: Level, action: AuthorityAction) -> float:
        """The most (in 元) an agent of this level may grant for the action (0: not at all)."""
        return self.actions[action].limits[level]

    def label(self, action: AuthorityAction) -> str:
        """The action's Chinese label."""
        return self.actions[action].label

    def level_label(self, level: Level) -> str:
        """The level's Chinese label."""
        return self.levels.get(level, LEVEL_LABELS[level])

    @cached_property
    def matcher(self) -> RuleMatcher:
        """One rule per action (in ``AuthorityAction`` order), matched per sentence."""
        return RuleMatcher(
            [
                PatternRule.compile(
                    [_expand(p) for p in self.actions[action].patterns],
                    [*self.unless, *(_expand(u) for u in self.actions[action].unless)],
                )
                for action in AuthorityAction
            ],
            sentences,
            Occurrence.FIRST_PER_RULE,
        )


class Decision(BaseModel):
    """Whether an agent's level covers an amount, or a supervisor must approve it."""

    model_config = ConfigDict(frozen=True)

    action: AuthorityAction
    level: Level
    amount: float
    limit: float

    @property
    def within_limit(self) -> bool:
        """The level may grant it without approval."""
        return self.amount <= self.limit

    @property
    def needs_approval(self) -> bool:
        """A supervisor must approve it."""
        return not self.within_limit


def _expand(pattern: str) -> str:
    return pattern.replace(AMOUNT_PLACEHOLDER, AMOUNT_PATTERN)


def load_authority(path: Path) -> AuthorityLimits:
    """Read and validate the authority file.

    Raises:
        ConfigurationError: missing file, bad YAML, an unknown level or action, a missing or
            negative limit, a limit lower than the level below's, a bad pattern (names the file
            and the value).
    """
    return read_yaml(path, AuthorityLimits)


def as_level(value: Level | str) -> Level:
    """The level named by ``value``.

    Raises:
        AuthorityError: not a level (names it and the known ones).
    """
    try:
        return Level(str(value).strip().lower())
    except ValueError:
        known = ", ".join(level.value for level in Level)
        raise AuthorityError(f"unknown level {value!r}: use one of {known}") from None


def as_action(value: AuthorityAction | str) -> AuthorityAction:
    """The action named by ``value``.

    Raises:
        AuthorityError: not an action (names it and the known ones).
    """
    try:
        return AuthorityAction(str(value).strip().lower())
    except ValueError:
        known = ", ".join(action.value for action in AuthorityAction)
        raise AuthorityError(f"unknown action {value!r}: use one of {known}") from None


def check_amount(amount: float) -> float:
    """An amount an agent may ask for: more than 0 and at most ``MAX_AMOUNT`` 元.

    Raises:
        AuthorityError: zero, negative, not a number or absurdly large (names the amount).
    """
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        raise AuthorityError(f"the amount {amount!r} is not a number")
    value = float(amount)
    if not math.isfinite(value) or value <= 0 or value > MAX_AMOUNT:
        raise AuthorityError(
            f"the amount {amount!r} must be more than 0 and at most {MAX_AMOUNT:,.0f} 元"
        )
    return value


def decide(
    limits: AuthorityLimits, level: Level, action: AuthorityAction, amount: float
) -> Decision:
    """Whether an agent of ``level`` may grant ``amount`` 元 for ``action`` on their own.

    Raises:
        AuthorityError: a bad amount (see ``check_amount``).
    """
    value = check_amount(amount)
    return Decision(action=action, level=level, amount=value, limit=limits.limit(level, action))


def _amount(words: str) -> float | None:
    words = words.replace(" ", "")
    if words[0].isdigit():
        scale = {"万": 10_000.0, "千": 1_000.0}.get(words[-1], 1.0)
        return float(words.rstrip("万千")) * scale
    return spoken_amount(words)


def parse_amount(text: str) -> float | None:
    """The amount a promise names, in 元: 8000, 1.2万 (12000), 5千, 五千, 一万二 (12000).

    A numeral counting things (一个, 两份) is not an amount; of several amounts the largest
    counts (a promise is judged by the most it commits to).

    Returns:
        The amount, or None when the text names none.
    """
    amounts = [a for a in (_amount(m.group(0)) for m in _AMOUNT.finditer(text)) if a is not None]
    return max(amounts, default=None)


def promise_findings(text: str, level: Level, limits: AuthorityLimits) -> list[Finding]:
    """The sentences of an agent's text that promise more than their level may grant.

    A promise with an amount above the level's limit is a finding; a promise without an amount
    is one only where the level may not grant the action at all (limit 0). Limits, questions and
    approvals still to come (``unless`` in the file) are not promises.

    Args:
        text: what the agent said or is about to send.
        level: the agent's level.
        limits: the authority rules.

    Returns:
        Findings (rule ``authority-<action>``, category bypass) in order of position.
    """
    actions = list(AuthorityAction)
    found: list[Finding] = []
    for match in limits.matcher.find(text):
        action = actions[match.rule]
        limit = limits.limit(level, action)
        amount = parse_amount(match.text)
        if amount is None and limit > 0:
            continue  # no amount named: nothing says it is beyond the level
        if amount is not None and amount <= limit:
            continue
        label, who = limits.label(action), f"{limits.level_label(level)}坐席"
        if limit <= 0:
            reason = f"{who}无权承诺{label}，需主管审批"
        else:
            reason = f"{who}{label}权限上限为{limit:g}元，承诺的{amount:g}元超出权限，需主管审批"
        found.append(
            Finding(
                rule=f"authority-{action.value}",
                category=RuleCategory.BYPASS,
                severity=Severity.HIGH,
                start=match.start,
                end=match.end,
                text=match.text,
                sentence=match.segment.text.strip(),
                reason=reason,
                rewrite=f"关于{label}，我需要先提交主管审批，审批通过后马上告知您结果。",
            )
        )
    return found
