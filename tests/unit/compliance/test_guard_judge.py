"""The guard with a learned judge: model findings on sentences no rule flagged, saying they come
from the model and how sure it is, with the category's reason and rewording."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from core.errors import ConfigurationError
from core.settings import PROJECT_ROOT
from prompts.guard import (
    ComplianceGuard,
    FindingSource,
    RuleCategory,
    SentenceVerdict,
)
from studio.overlays import CuratedOverlay, merged_guard

RULES = PROJECT_ROOT / "prompts" / "compliance_rules.yaml"


class KeywordJudge:
    """Flags sentences holding a word, as the category it maps to; records what it was asked."""

    def __init__(self, words: dict[str, RuleCategory]) -> None:
        self.words = words
        self.asked: list[list[str]] = []

    def judge(self, sentences: Sequence[str]) -> list[SentenceVerdict]:
        self.asked.append(list(sentences))
        verdicts = []
        for sentence in sentences:
            hit = next((c for w, c in self.words.items() if w in sentence), None)
            verdicts.append(
                SentenceVerdict(
                    probability=0.91 if hit else 0.05,
                    category=hit or RuleCategory.PROMISE,
                    flagged=hit is not None,
                )
            )
        return verdicts


@pytest.fixture
def judge() -> KeywordJudge:
    return KeywordJudge({"特殊通道": RuleCategory.BYPASS, "停着的": RuleCategory.COACHING})


@pytest.fixture
def guard(judge: KeywordJudge) -> ComplianceGuard:
    return ComplianceGuard.load(RULES).with_judge(judge)


def test_a_model_finding_covers_its_sentence_and_says_it_is_the_models(
    guard: ComplianceGuard,
) -> None:
    text = "您好。我这边帮您申请个特殊通道，一万块直接打给您。"
    report = guard.check(text)
    assert not report.compliant
    [finding] = report.findings
    assert finding.source is FindingSource.MODEL
    assert finding.confidence == pytest.approx(0.91)
    assert finding.category is RuleCategory.BYPASS
    assert finding.rule == "model-bypass"
    assert text[finding.start : finding.end] == finding.text == finding.sentence
    assert finding.sentence == "我这边帮您申请个特殊通道，一万块直接打给您。"
    assert finding.reason == guard.categories[RuleCategory.BYPASS].reason
    assert finding.rewrite == guard.categories[RuleCategory.BYPASS].rewrite


def test_the_judge_is_not_asked_about_sentences_a_rule_already_flagged(
    guard: ComplianceGuard, judge: KeywordJudge
) -> None:
    report = guard.check("您放心，肯定全赔。要不您就说车是停着的。")
    assert [f.source for f in report.findings] == [FindingSource.RULE, FindingSource.MODEL]
    assert judge.asked == [["要不您就说车是停着的。"]]


def test_compliant_text_stays_compliant_and_rule_findings_keep_their_rule(
    guard: ComplianceGuard,
) -> None:
    assert guard.check("能不能赔要以定损结果为准。").compliant
    [finding] = guard.check("这个肯定全赔。").findings
    assert finding.source is FindingSource.RULE and finding.confidence is None


def test_sanitize_rewords_a_model_finding(guard: ComplianceGuard) -> None:
    cleaned, report = guard.sanitize("您好。我帮您走个特殊通道。")
    assert not report.compliant
    assert cleaned == "您好。" + guard.categories[RuleCategory.BYPASS].rewrite


def test_a_judge_needs_the_category_texts(judge: KeywordJudge) -> None:
    bare = ComplianceGuard.from_rules(ComplianceGuard.load(RULES).rules)
    with pytest.raises(ConfigurationError, match="categories"):
        bare.with_judge(judge)


def test_the_studios_rules_keep_the_judge(guard: ComplianceGuard, judge: KeywordJudge) -> None:
    merged = merged_guard(guard, CuratedOverlay())
    assert merged.judge is judge
    assert not merged.check("走个特殊通道吧。").compliant


def test_every_category_has_its_model_texts_in_the_shipped_file() -> None:
    shipped = ComplianceGuard.load(RULES)
    assert set(shipped.categories) == set(RuleCategory)
    for texts in shipped.categories.values():
        assert shipped.check(texts.rewrite).compliant  # the rewording passes the rules


def test_sentences_without_chinese_are_left_to_the_rules(
    guard: ComplianceGuard, judge: KeywordJudge
) -> None:
    assert guard.check("We are connecting you to a person, please wait.").compliant
    assert judge.asked == []
