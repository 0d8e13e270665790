"""Training the guard's judge: thresholds, authors held out whole, and a round trip to disk."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from compliance.classifier import GuardArtefact, GuardClassifier
from compliance.data import LabelledReply
from compliance.training import (
    choose_screen,
    operating_threshold,
    reply_scores,
    reply_sentences_with_rules,
    train_guard_judge,
)
from core.errors import ConfigurationError, PolicyDeskError
from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard, RuleCategory
from tests.fakes import FakeEmbedder, QueryRecordingEmbedder

RULES = PROJECT_ROOT / "prompts" / "compliance_rules.yaml"


def test_the_threshold_is_the_lowest_that_keeps_the_precision() -> None:
    positive = np.array([True, True, True, False, True, False])
    scores = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.2])
    # at 0.6: 4 of 5 flagged are violations (0.8); at 0.7: 3 of 3
    assert operating_threshold(positive, scores, 0.8) == pytest.approx(0.6)
    assert operating_threshold(positive, scores, 0.9) == pytest.approx(0.7)


def violation_and_compliant(violation: str, evidence: str, compliant: str) -> list[LabelledReply]:
    """One author's two replies: a violation (its evidence given) and a compliant one."""
    return [
        LabelledReply(
            id="a-1",
            author="a",
            text=violation,
            compliant=False,
            categories=[RuleCategory.PROMISE],
            evidence=evidence,
        ),
        LabelledReply(id="a-2", author="a", text=compliant, compliant=True),
    ]


def test_a_rule_hit_flags_its_reply_whatever_the_judge_says() -> None:
    guard = ComplianceGuard.load(RULES)
    replies = violation_and_compliant("肯定全赔。好的。", "肯定全赔", "好的。稍等。")
    data = reply_sentences_with_rules(replies, guard)
    assert data.ruled.tolist() == [True, False, False, False]
    scores = reply_scores(data, np.array([0.0, 0.3, 0.2, 0.6]), len(replies))
    assert scores.tolist() == [1.0, 0.6]


PROMISES = [
    "这个肯定能给您全部报销",
    "您放心包在我身上一分不少",
    "百分百给您办下来",
    "绝对一分不会少",
]
SAFE = ["具体以定损结果为准", "我帮您登记一下", "请您在官方APP上传资料", "稍后查勘员联系您"]


def synthetic(author: str) -> list[LabelledReply]:
    replies = []
    for i, text in enumerate(PROMISES):
        body = f"{author}说：{text}。"
        replies.append(
            LabelledReply(
                id=f"{author}-p{i}",
                author=author,
                text=body,
                compliant=False,
                categories=[RuleCategory.PROMISE],
                evidence=text,
            )
        )
    for i, text in enumerate(SAFE):
        replies.append(
            LabelledReply(
                id=f"{author}-s{i}", author=author, text=f"{author}说：{text}。", compliant=True
            )
        )
    return replies


def test_a_judge_trained_on_labelled_replies_round_trips_and_flags(tmp_path: Path) -> None:
    replies = [r for a in ("甲", "乙", "丙") for r in synthetic(a)]
    guard = ComplianceGuard.load(RULES)
    data = reply_sentences_with_rules(replies, guard)
    embedder = FakeEmbedder()
    artefact = train_guard_judge(
        replies, embedder.embed_queries(data.texts), guard, data, embedder.fingerprint, "d"
    )
    assert set(artefact.manifest.sources) == {"甲", "乙", "丙"}
    assert {"author.甲.recall", "category.promise.recall"} <= set(artefact.manifest.cv)
    artefact.save(tmp_path)
    judge = GuardClassifier.load(tmp_path, embedder)
    [bad, good] = judge.judge(["丁说：这个肯定能给您全部报销。", "丁说：我帮您登记一下。"])
    assert bad.probability > good.probability
    assert bad.category is RuleCategory.PROMISE
    with pytest.raises(ConfigurationError, match="retrain"):
        GuardClassifier(GuardArtefact.load(tmp_path), FakeEmbedder(fingerprint="other"))


def test_one_author_is_not_enough() -> None:
    replies = synthetic("甲")
    guard = ComplianceGuard.load(RULES)
    data = reply_sentences_with_rules(replies, guard)
    embedder = FakeEmbedder()
    with pytest.raises(PolicyDeskError, match="two authors"):
        train_guard_judge(replies, embedder.embed_queries(data.texts), guard, data, "fake", "d")


def test_the_screen_spares_the_encoder_and_repeats_come_from_the_cache(tmp_path: Path) -> None:
    replies = [r for a in ("甲", "乙", "丙") for r in synthetic(a)]
    guard = ComplianceGuard.load(RULES)
    data = reply_sentences_with_rules(replies, guard)
    embedder = QueryRecordingEmbedder()
    trained = train_guard_judge(
        replies, embedder.embed_queries(data.texts), guard, data, embedder.fingerprint, "d"
    )
    everything, nothing = (
        dataclasses.replace(trained, manifest=trained.manifest.model_copy(update={"screen": cut}))
        for cut in (0.0, 0.999)
    )
    embedder.queries.clear()
    [verdict] = GuardClassifier(nothing, embedder).judge(["丁说：我帮您登记一下。"])
    assert embedder.queries == [] and not verdict.flagged
    assert verdict.probability < 0.999
    judge = GuardClassifier(everything, embedder)
    judge.judge(["丁说：我帮您登记一下。", "丁说：稍等。"])
    judge.judge(["丁说：我帮您登记一下。", "丁说：好的。"])
    assert embedder.queries == ["丁说：我帮您登记一下。", "丁说：稍等。", "丁说：好的。"]


def test_the_screen_cutoff_is_the_largest_that_loses_no_violation() -> None:
    guard = ComplianceGuard.load(RULES)
    data = reply_sentences_with_rules(violation_and_compliant("甲。", "甲", "乙。"), guard)
    positive = np.array([True, False])
    judge = np.array([0.9, 0.1])
    # the violation's screen P is 0.15: cutoffs 0.3 and 0.2 would clear it, 0.1 does not
    assert choose_screen(data, judge, np.array([0.15, 0.01]), 0.5, positive) == 0.1
    assert choose_screen(data, judge, np.array([0.01, 0.01]), 0.5, positive) == 0.0
