"""Training the guard's judge: thresholds, authors held out whole, and a round trip to disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compliance.classifier import GuardArtefact, GuardClassifier
from compliance.data import LabelledReply
from compliance.training import (
    operating_threshold,
    reply_scores,
    reply_sentences_with_rules,
    train_guard_judge,
)
from core.errors import ConfigurationError, PolicyDeskError
from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard, RuleCategory
from tests.fakes import FakeEmbedder

RULES = PROJECT_ROOT / "prompts" / "compliance_rules.yaml"


def test_the_threshold_is_the_lowest_that_keeps_the_precision() -> None:
    positive = np.array([True, True, True, False, True, False])
    scores = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.2])
    # at 0.6: 4 of 5 flagged are violations (0.8); at 0.7: 3 of 3
    assert operating_threshold(positive, scores, 0.8) == pytest.approx(0.6)
    assert operating_threshold(positive, scores, 0.9) == pytest.approx(0.7)


def test_a_rule_hit_flags_its_reply_whatever_the_judge_says() -> None:
    guard = ComplianceGuard.load(RULES)
    replies = [
        LabelledReply(
            id="a-1",
            author="a",
            text="肯定全赔。好的。",
            compliant=False,
            categories=[RuleCategory.PROMISE],
            evidence="肯定全赔",
        ),
        LabelledReply(id="a-2", author="a", text="好的。稍等。", compliant=True),
    ]
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
