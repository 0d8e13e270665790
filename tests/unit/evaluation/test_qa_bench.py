"""The QA bench's comparison of automated outcomes with labels (pure part)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from evaluation.qa_bench import SCORECARD, LabelledContact, agreement, render
from quality.models import ItemScore, Outcome, QaResult
from quality.scorecard import ItemId, load_scorecard

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _labelled(cid: str, empathy: Outcome) -> LabelledContact:
    labels = {item: Outcome.PASS for item in ItemId}
    labels[ItemId.EMPATHY] = empathy
    return LabelledContact(
        id=cid, role="tuning", turns=[{"speaker": "agent", "text": "您好"}], labels=labels
    )


def _result(empathy: Outcome) -> QaResult:
    items = [
        ItemScore(
            item=item.value,
            label=item.value,
            outcome=empathy if item is ItemId.EMPATHY else Outcome.PASS,
            weight=1,
        )
        for item in ItemId
    ]
    return QaResult(scorecard="card", items=items, score=None, redlines=0, scored_at=NOW)


def test_agreement_counts_per_item_and_lists_disagreements() -> None:
    contacts = [_labelled("a", Outcome.NA), _labelled("b", Outcome.FAIL)]
    results = [_result(Outcome.NA), _result(Outcome.PASS)]
    report = agreement(Path("set.jsonl"), contacts, results, load_scorecard(SCORECARD))
    empathy = next(i for i in report.items if i.item == "empathy")
    assert empathy.agreement == 0.5
    assert empathy.confusion["fail"] == {"pass": 1}
    assert empathy.confusion["na"] == {"na": 1}
    closing = next(i for i in report.items if i.item == "closing")
    assert closing.agreement == 1.0 and closing.kappa is None  # one label throughout
    assert report.overall == round(13 / 14, 3)
    assert [(d.id, d.item) for d in report.disagreements] == [("b", "empathy")]
    assert report.role == "tuning"
    assert "| empathy | 0.500 |" in render(report)
