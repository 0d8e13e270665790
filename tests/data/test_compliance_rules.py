"""The shipped compliance rules (prompts/compliance_rules.yaml) and their labelled replies: every
red line is caught, safe wording passes, every rewrite is compliant."""

from __future__ import annotations

import json

import pytest

from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard, RuleCategory

RULES = PROJECT_ROOT / "prompts" / "compliance_rules.yaml"


@pytest.fixture(scope="module")
def guard() -> ComplianceGuard:
    return ComplianceGuard.load(RULES)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("您放心，这个肯定全赔。", RuleCategory.PROMISE),
        ("百分百理赔，您不用担心。", RuleCategory.PROMISE),
        ("这个肯定是对方全责。", RuleCategory.LIABILITY),
        ("我保证明天一定到账。", RuleCategory.AMOUNT_OR_DATE),
        ("麻烦您把身份证号码完整报一下。", RuleCategory.PRIVACY),
        # issue 13: off-channel contact and phishing
        (
            "请通过链接 http://pay-check.example.com 上传身份证正反面和银行卡照片",
            RuleCategory.OFF_CHANNEL,
        ),
        ("加我微信 zhang_agent88，把身份证和银行卡照片发我", RuleCategory.OFF_CHANNEL),
        ("您打开这个链接输入卡号和验证码就行。", RuleCategory.OFF_CHANNEL),
        ("我的私人电话您记一下，有事直接打我。", RuleCategory.OFF_CHANNEL),
        ("您把驾驶证拍个照发我一下。", RuleCategory.OFF_CHANNEL),
    ],
)
def test_red_lines_are_found_with_span_reason_and_rewrite(
    guard: ComplianceGuard, text: str, category: RuleCategory
) -> None:
    report = guard.check(text)
    assert not report.compliant
    finding = report.findings[0]
    assert finding.category is category
    assert text[finding.start : finding.end] == finding.text
    assert finding.reason and finding.rewrite
    assert guard.check(finding.rewrite).compliant  # the suggested wording passes the guard


@pytest.mark.parametrize(
    "text",
    [
        "我们不能承诺全赔，具体以定损核赔结果为准。",
        "是否属于全责需要交警认定。",
        "请您只提供身份证后四位核验一下。",
        "合同约定核定后10日内支付赔款。",
        "请在官方APP的理赔页面上传身份证照片。",
        "我们不会发送任何链接，请勿点击不明链接。",
        "请拨打官方客服热线95518。",
        "工作人员不会让您加个人微信。",
    ],
)
def test_safe_uses_of_dangerous_words_pass(guard: ComplianceGuard, text: str) -> None:
    assert guard.check(text).compliant, guard.check(text).findings


def test_every_rewrite_is_itself_compliant(guard: ComplianceGuard) -> None:
    for rule in guard.rules:
        assert guard.check(rule.rewrite).compliant, rule.id


def test_labelled_set_is_consistent_with_rule_ids(guard: ComplianceGuard) -> None:
    ids = {r.id for r in guard.rules}
    path = PROJECT_ROOT / "data" / "compliance" / "team_rules.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 150
    for record in records:
        assert set(record["rules"]) <= ids
        assert record["compliant"] == (not record["rules"])
