"""Routing review on real SQLite: what the chatbot logs, labelling, export as an author set."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import Engine

from chatbot.learned import DetectorVerdict
from chatbot.review import (
    NewReview,
    ReviewKind,
    ReviewLabelError,
    ReviewNotFoundError,
    RoutingReviewLog,
)
from chatbot.routing_sets import load_routing_set
from chatbot.understanding import Reason
from core.settings import Settings
from services.root import Services

pytestmark = pytest.mark.integration


@pytest.fixture
def log(migrated_engine: Engine) -> RoutingReviewLog:
    return RoutingReviewLog(migrated_engine)


def _new(text: str, kind: ReviewKind = ReviewKind.OVERRULED) -> NewReview:
    overruled = [Reason.COMPLAINT] if kind is ReviewKind.OVERRULED else []
    return NewReview(
        session_id="S1",
        kind=kind,
        text=text,
        route="bot" if kind is ReviewKind.OVERRULED else "human",
        intent="complaint",
        reasons=[] if overruled else [Reason.NEEDS_DECISION],
        overruled=overruled,
        learned_p=0.02,
    )


def test_entries_are_stored_redacted_and_wait_for_a_label(log: RoutingReviewLog) -> None:
    entry = log.record(_new("我电话13812345678，投诉渠道在哪"))
    stored = log.get(entry.id)
    assert "13812345678" not in stored.text and "138****5678" in stored.text
    assert [e.id for e in log.entries()] == [entry.id]
    assert log.entries(labelled=True) == []
    assert log.counts() == {"learned_only": 0, "overruled": 1, "labelled": 0}


def test_labelling_moves_an_entry_out_of_the_waiting_list(log: RoutingReviewLog) -> None:
    entry = log.record(_new("你们这个服务真够可以的"))
    labelled = log.label(entry.id, "human", [Reason.COMPLAINT], "supervisor01")
    assert (labelled.label_route, labelled.label_reasons) == ("human", [Reason.COMPLAINT])
    assert labelled.labelled_by == "supervisor01" and labelled.labelled_at is not None
    assert log.entries() == [] and [e.id for e in log.entries(labelled=True)] == [entry.id]
    assert log.counts()["labelled"] == 1


def test_a_bad_label_names_the_problem_and_changes_nothing(log: RoutingReviewLog) -> None:
    entry = log.record(_new("投诉一般几天回复"))
    with pytest.raises(ReviewLabelError, match="needs at least one reason"):
        log.label(entry.id, "human", [], "supervisor01")
    with pytest.raises(ReviewLabelError, match="reviewer is required"):
        log.label(entry.id, "bot", [], "  ")
    with pytest.raises(ReviewNotFoundError, match="R-none"):
        log.label("R-none", "bot", [], "supervisor01")
    assert log.get(entry.id).label_route is None


def test_the_export_is_an_author_set_training_can_read(
    log: RoutingReviewLog, tmp_path: Path
) -> None:
    first = log.record(_new("投诉一般几天回复"))
    again = log.record(_new("投诉一般几天回复"))  # the same words from another customer
    decision = log.record(_new("这单能不能先赔一部分", ReviewKind.LEARNED_ONLY))
    log.record(_new("还没看的"))  # unlabelled: not exported
    log.label(first.id, "human", [Reason.COMPLAINT], "trainer01")
    log.label(again.id, "bot", [], "supervisor01")  # the later label wins
    log.label(decision.id, "human", [Reason.NEEDS_DECISION], "trainer01")
    records = log.export()
    assert [(r["text"], r["route"]) for r in records] == [
        ("投诉一般几天回复", "bot"),
        ("这单能不能先赔一部分", "human"),
    ]
    path = tmp_path / "routing_reviewed.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    examples = load_routing_set(path)
    assert [e.id for e in examples] == ["rv-001", "rv-002"]
    assert examples[1].reasons == [Reason.NEEDS_DECISION]


class _FixedDetector:
    """A detector with a fixed verdict: this test is about what is logged, not the model."""

    def __init__(self, p_human: float, reasons: list[Reason]) -> None:
        self.manifest = SimpleNamespace(rule_veto=0.05)
        self._verdict = DetectorVerdict(
            p_human=p_human, reasons=reasons, above_threshold=p_human >= 0.5
        )

    def score(self, text: str, vector: np.ndarray) -> DetectorVerdict:
        return self._verdict


def _bot_with(demo_services: Services, detector: _FixedDetector) -> Services:
    return Services(
        Settings(**demo_services.settings.model_dump()),
        embedder=demo_services.embedder,
        handoff_detector=detector,  # type: ignore[arg-type]
    )


def test_the_chatbot_logs_what_the_detector_decided_alone(demo_services: Services) -> None:
    sure_calm = _bot_with(demo_services, _FixedDetector(0.01, []))
    bot = sure_calm.chatbot()
    conversation = bot.start("api")
    answer = bot.post(conversation.id, "我要投诉你们的查勘员")
    assert answer.route == "bot"  # the detector overruled the complaint trigger
    (entry,) = [e for e in sure_calm.routing_reviews.entries() if e.session_id == conversation.id]
    assert entry.kind is ReviewKind.OVERRULED and entry.overruled == [Reason.COMPLAINT]
    assert entry.learned_p == pytest.approx(0.01) and entry.handoff_id is None

    keen = _bot_with(demo_services, _FixedDetector(0.9, [Reason.NEEDS_DECISION]))
    bot = keen.chatbot()
    conversation = bot.start("api")
    answer = bot.post(conversation.id, "电子保单怎么下载")
    assert answer.route == "human" and answer.handoff_id is not None
    (entry,) = [e for e in keen.routing_reviews.entries() if e.session_id == conversation.id]
    assert entry.kind is ReviewKind.LEARNED_ONLY and entry.handoff_id == answer.handoff_id
    assert keen.handoffs.get(answer.handoff_id).learned_only


def test_decisions_the_rules_made_are_not_logged(demo_services: Services) -> None:
    services = _bot_with(demo_services, _FixedDetector(0.9, [Reason.EXPLICIT_REQUEST]))
    bot = services.chatbot()
    conversation = bot.start("api")
    assert bot.post(conversation.id, "转人工").route == "human"
    logged = {e.session_id for e in services.routing_reviews.entries()}
    assert conversation.id not in logged
