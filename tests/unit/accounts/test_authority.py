"""Tiered authority (pure): the shipped limits, decisions, amounts in any numerals, and which
agent sentences promise beyond a level."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.authority import (
    AuthorityAction,
    AuthorityError,
    AuthorityLimits,
    Level,
    as_action,
    as_level,
    decide,
    load_authority,
    parse_amount,
    promise_findings,
)
from core.errors import ConfigurationError
from core.settings import Settings
from prompts.guard import RuleCategory

SHIPPED = Settings().authority_file


@pytest.fixture(scope="module")
def limits() -> AuthorityLimits:
    return load_authority(SHIPPED)


def test_the_shipped_file_has_every_level_and_action(limits: AuthorityLimits) -> None:
    assert limits.limit(Level.BASIC, AuthorityAction.GOODWILL) == 100
    assert limits.limit(Level.SENIOR, AuthorityAction.GOODWILL) == 500
    assert limits.limit(Level.EXPERT, AuthorityAction.GOODWILL) == 1000
    assert limits.limit(Level.BASIC, AuthorityAction.FAST_TRACK) == 0
    assert limits.limit(Level.SENIOR, AuthorityAction.FAST_TRACK) == 5000
    assert limits.limit(Level.EXPERT, AuthorityAction.FEE_WAIVER) == 1000
    assert limits.label(AuthorityAction.FAST_TRACK) == "小额快赔"
    assert limits.level_label(Level.SENIOR) == "高级"


@pytest.mark.parametrize(
    ("level", "action", "amount", "needs_approval"),
    [
        (Level.BASIC, AuthorityAction.GOODWILL, 100, False),
        (Level.BASIC, AuthorityAction.GOODWILL, 100.5, True),
        (Level.SENIOR, AuthorityAction.GOODWILL, 500, False),
        (Level.BASIC, AuthorityAction.FAST_TRACK, 1, True),
        (Level.SENIOR, AuthorityAction.FAST_TRACK, 8000, True),
        (Level.EXPERT, AuthorityAction.FAST_TRACK, 8000, False),
        (Level.SENIOR, AuthorityAction.FEE_WAIVER, 300, False),
        (Level.SENIOR, AuthorityAction.FEE_WAIVER, 301, True),
    ],
)
def test_decide_within_the_limit_or_needs_approval(
    limits: AuthorityLimits,
    level: Level,
    action: AuthorityAction,
    amount: float,
    needs_approval: bool,
) -> None:
    decision = decide(limits, level, action, amount)
    assert decision.needs_approval is needs_approval
    assert decision.within_limit is not needs_approval
    assert decision.limit == limits.limit(level, action)


@pytest.mark.parametrize("amount", [0, -5, float("nan"), float("inf"), 1e9])
def test_decide_refuses_a_bad_amount_naming_it(limits: AuthorityLimits, amount: float) -> None:
    with pytest.raises(AuthorityError, match="amount"):
        decide(limits, Level.SENIOR, AuthorityAction.GOODWILL, amount)


def test_unknown_levels_and_actions_are_named() -> None:
    assert as_level(" Senior ") is Level.SENIOR
    assert as_action("fast_track") is AuthorityAction.FAST_TRACK
    with pytest.raises(AuthorityError, match="'master'"):
        as_level("master")
    with pytest.raises(AuthorityError, match="'refund'"):
        as_action("refund")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("8000", 8000),
        ("五千", 5000),
        ("1.2万", 12000),
        ("5千", 5000),
        ("一万二", 12000),
        ("三千五", 3500),
        ("一千零五", 1005),
        ("两百", 200),
        ("十五", 15),
        ("送您一个200元的礼品", 200),
        ("没有金额", None),
        ("两个", None),
    ],
)
def test_amounts_in_arabic_and_chinese_numerals(text: str, amount: float | None) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "level", "rule"),
    [
        ("给您补偿500元。", Level.BASIC, "authority-goodwill"),
        ("给您补偿600元。", Level.SENIOR, "authority-goodwill"),
        ("这个8000的我直接给您快赔。", Level.SENIOR, "authority-fast_track"),
        ("快赔五千块今天就到账。", Level.BASIC, "authority-fast_track"),
        ("快速赔付金额1.2万元，今天到账。", Level.EXPERT, "authority-fast_track"),
        ("手续费给您免了。", Level.BASIC, "authority-fee_waiver"),
        ("我送您一个200元的礼品。", Level.BASIC, "authority-goodwill"),
    ],
)
def test_a_promise_beyond_the_level_is_a_finding(
    limits: AuthorityLimits, text: str, level: Level, rule: str
) -> None:
    (finding,) = promise_findings(text, level, limits)
    assert finding.rule == rule
    assert finding.category is RuleCategory.BYPASS
    assert limits.level_label(level) in finding.reason
    assert "主管审批" in finding.rewrite
    assert text[finding.start : finding.end] == finding.text


def test_the_reason_names_the_levels_limit(limits: AuthorityLimits) -> None:
    (finding,) = promise_findings("这个8000的我直接给您快赔。", Level.SENIOR, limits)
    assert "5000元" in finding.reason and "8000元" in finding.reason
    (none_allowed,) = promise_findings("手续费给您免了。", Level.BASIC, limits)
    assert "无权" in none_allowed.reason


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("给您补偿500元。", Level.SENIOR),  # within the level
        ("这个8000的我直接给您快赔。", Level.EXPERT),
        ("手续费给您免了。", Level.SENIOR),  # no amount, and the level may waive fees
        ("最高可以补偿500元需要主管审批。", Level.BASIC),
        ("快赔五千块可以吗？", Level.BASIC),
        ("这个我没有权限给您补偿1000元。", Level.BASIC),
        ("我帮您提交申请，快赔8000元需要审批。", Level.BASIC),
        ("您的保单保额是五十万。", Level.BASIC),
    ],
)
def test_limits_questions_and_requests_are_not_findings(
    limits: AuthorityLimits, text: str, level: Level
) -> None:
    assert promise_findings(text, level, limits) == []


def test_each_sentence_is_judged_on_its_own(limits: AuthorityLimits) -> None:
    text = "最高可以补偿500元需要主管审批。我先给您补偿300元。"
    (finding,) = promise_findings(text, Level.BASIC, limits)
    assert finding.text == "给您补偿300元" and finding.start == text.index("给您")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD_ACTION = """
    label: x
    limits: {basic: 0, senior: 1, expert: 2}
    patterns: ["给您{amount}"]
"""


def test_a_bad_file_is_refused_naming_the_value(tmp_path: Path) -> None:
    unknown_level = _write(
        tmp_path / "a.yaml",
        "actions:\n  goodwill:\n    label: x\n    limits: {basic: 0, senior: 1, master: 2}\n"
        "    patterns: [x]\n",
    )
    with pytest.raises(ConfigurationError, match="master"):
        load_authority(unknown_level)
    negative = _write(
        tmp_path / "b.yaml",
        "actions:\n  goodwill:\n    label: x\n    limits: {basic: -1, senior: 1, expert: 2}\n"
        "    patterns: [x]\n",
    )
    with pytest.raises(ConfigurationError, match="-1"):
        load_authority(negative)
    missing = _write(tmp_path / "c.yaml", "actions:\n  goodwill:" + GOOD_ACTION)
    with pytest.raises(ConfigurationError, match="fast_track"):
        load_authority(missing)
    decreasing = _write(
        tmp_path / "d.yaml",
        "actions:\n  goodwill:\n    label: x\n    limits: {basic: 5, senior: 1, expert: 2}\n"
        "    patterns: [x]\n",
    )
    with pytest.raises(ConfigurationError, match="lower limit"):
        load_authority(decreasing)
    bad_pattern = _write(
        tmp_path / "e.yaml",
        "actions:\n  goodwill:\n    label: x\n    limits: {basic: 0, senior: 1, expert: 2}\n"
        "    patterns: ['给您(']\n",
    )
    with pytest.raises(ConfigurationError, match="regular expression"):
        load_authority(bad_pattern)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_authority(tmp_path / "missing.yaml")
